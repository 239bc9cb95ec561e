"""Simulated participant for `make demo` on a box with no camera: it stands in for the camera
and inference services (binding their endpoints), following the routine of each session that
scoring starts, with lag, pixel noise, a stretch of too-small movements and a short moment out of
view. It publishes Frame (a drawn picture) and Pose with backend "sim", so scoring, renderer and
uplink run for real. It is never started when a camera or video source is configured.
"""
from __future__ import annotations

import time

import numpy as np

from common.bus import messages
from common.bus.service import HealthReporter, ServiceContext
from common.bus.sockets import Publisher, Subscriber
from common.coach import routine as routines
from common.coach.keypoints import COCO17
from common.coach.synthetic import STANDING, draw_picture, pose3d, world_landmarks

WIDTH, HEIGHT = 640, 480
LAG_S = 0.6
NOISE_PX = 2.0


def participant_angles(routine: routines.Routine, t: float) -> dict[str, float]:
    """What the simulated senior does at routine time t: the routine, LAG_S late, and between
    40 % and 55 % of it only half the movement (tired), which scoring should mark."""
    target = routine.target(t - LAG_S)
    if 0.40 * routine.duration_s <= t <= 0.55 * routine.duration_s:
        rest = routine.target(0.0)
        target = {j: rest[j] + 0.5 * (v - rest[j]) for j, v in target.items() if j in rest}
    return target


def main(ctx: ServiceContext) -> int:
    routine = routines.load(ctx.config.scoring.routine)
    endpoints = ctx.endpoints()
    frames_pub = Publisher(ctx.zmq, endpoints["camera"], latest_only=True)
    poses_pub = Publisher(ctx.zmq, endpoints["inference"])
    sessions = Subscriber(ctx.zmq, endpoints, ["session"])
    health = HealthReporter("inference", poses_pub)
    rng = np.random.default_rng(7)
    routine_start_ns = 0
    period = 1.0 / ctx.config.camera.fps
    frame_id = 0
    next_due = time.monotonic()
    while not ctx.stop.is_set():
        for s in sessions.receive(timeout_ms=0):
            routine_start_ns = s.routine_start_ns if s.event == "start" else 0
        ctx.stop.wait(max(0.0, next_due - time.monotonic()))
        next_due += period
        now_ns = time.monotonic_ns()
        t = (now_ns - routine_start_ns) / 1e9 if routine_start_ns else -1.0
        angles = participant_angles(routine, t) if t >= 0 else dict(STANDING)
        xyz = pose3d(angles, center_x=WIDTH / 2, floor_y=HEIGHT * 0.95)
        xyz[:, :2] += rng.normal(0.0, NOISE_PX, (len(xyz), 2))
        out_of_view = routine_start_ns and 0.70 * routine.duration_s <= t <= 0.72 * routine.duration_s
        pixels = draw_picture(xyz, WIDTH, HEIGHT)
        frames_pub.publish(messages.Frame(seq=frames_pub.next_seq("frame"), t_capture_ns=now_ns, frame_id=frame_id,
                                          width=WIDTH, height=HEIGHT, source="sim", pixels=pixels))
        kps = [] if out_of_view else [[round(float(x), 1), round(float(y), 1), 0.9] for x, y, _ in xyz[: len(COCO17)]]
        poses_pub.publish(messages.Pose(
            seq=poses_pub.next_seq("pose"), t_capture_ns=now_ns, frame_id=frame_id, width=WIDTH, height=HEIGHT,
            model="simulated-participant", backend="sim", layout="coco17", keypoints=kps,
            world=[] if out_of_view else world_landmarks(xyz[: len(COCO17)])))
        frame_id += 1
        health.stats.tick(time.monotonic())
        health.maybe_publish(time.monotonic(), backend="sim", detail={"model": "simulated-participant"})
    return 0
