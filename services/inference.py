"""Inference service: newest Frame → pose model → publish a Pose per person followed (lossless to scoring).

One loop for one person and for a class: the front (models/estimator.py's OnePerson around the
Estimator, or models/group.py's GroupEstimator in group mode, scoring.mode = "group") gives everyone
it follows, each with their track; each goes out as a Pose with its track and the frame's number of
people, or one empty Pose when nobody is followed. Who of them is exercising, and at which spot, is
scoring's (common/coach/spots.py's ClassRoll, the same code `silvergym score` drives): a newcomer's
first repetition goes out like every other reading, so live and offline score the same readings."""
from __future__ import annotations

import time

import numpy as np

from common.bus import messages
from common.bus.service import HealthReporter, ServiceContext
from common.bus.sockets import Publisher, Subscriber
from models import catalog
from models.estimator import Estimator, OnePerson, TpuRequired
from models.group import GroupEstimator

EXIT_TPU_REQUIRED = 3


def rounded(values: np.ndarray | None, decimals: int) -> list:
    """The model's numbers as the message's lists, rounded (a hundredth of a pixel, a tenth of a
    millimetre) in one array pass: per number in Python this was 0.3 ms a frame on the way to
    the Score. Same values as round(float(v), decimals)."""
    return [] if values is None else np.round(np.asarray(values, dtype=np.float64), decimals).tolist()


def open_front(ctx: ServiceContext):
    """The pose front of this box's mode: a class (everyone in view) or one person (a class of one)."""
    cfg = ctx.config.inference
    # An Edge TPU model's threads are its CPU fallback's.
    threads = cfg.threads_for(catalog.spec(cfg.model).cpu_fallback or cfg.model)
    if ctx.config.scoring.mode == "group":
        front = GroupEstimator(cfg.model, cfg.cache_dir, threads, ctx.config.scoring.max_people,
                               model_path=cfg.model_path, tpu_device=cfg.tpu_device, tpu_library=cfg.edgetpu_library,
                               require_tpu=cfg.require_tpu)
        if cfg.require_tpu and front.backend != "edgetpu":
            raise TpuRequired(f"Edge TPU required but unavailable: {front.tpu_problem or cfg.model + ' runs on the CPU'}")
        ctx.log.info("group mode: following up to %d people with %s on %s", front.max_people, front.name,
                     "the Edge TPU" if front.backend == "edgetpu" else "the CPU")
    else:
        front = OnePerson(Estimator(cfg.model, cfg.model_path, cfg.cache_dir, threads, cfg.tpu_device,
                                    cfg.require_tpu, tpu_library=cfg.edgetpu_library))
    ctx.log.info("model %s on %s (%d CPU threads)", front.name, front.backend, threads)
    return front


def main(ctx: ServiceContext) -> int:
    try:
        front = open_front(ctx)
    except TpuRequired as exc:
        ctx.log.error("%s", exc)
        return EXIT_TPU_REQUIRED
    except catalog.ModelError as exc:
        ctx.log.error("%s", exc)
        return 2
    frames = Subscriber(ctx.zmq, ctx.endpoints(), ["frame"])
    pub = Publisher(ctx.zmq, ctx.endpoint())
    health = HealthReporter(ctx.name, pub)
    last_source = ""
    try:
        while not ctx.stop.is_set():
            for frame in frames.receive(timeout_ms=200):
                if frame.source != last_source:
                    front.reset()  # new video or camera: do not track across a cut
                    last_source = frame.source
                # The frame's own copy out of the camera's ring (milliseconds) before the model reads
                # it: a read longer than the ring's SLOTS frames (a class's detector pass on a loaded
                # box: 0.5-3 s) had the camera overwrite the pixels under it, and its pose was dropped.
                pixels = np.array(frame.pixels) if frame.ring_id else frame.pixels
                if not frames.still_holds(frame):
                    continue  # overwritten before it was copied: not this frame's pixels
                try:
                    # A recording's session is read on the file's own clock (Frame.file_t_s), as
                    # `silvergym score` reads it: one performance, one reading, whatever the load.
                    people = front.estimate(pixels, frame.file_t_s if frame.file_t_s >= 0
                                            else frame.t_capture_ns / 1e9)
                except TpuRequired as exc:  # require_tpu: the Edge TPU failed mid-session or mid-class
                    ctx.log.error("%s", exc)
                    return EXIT_TPU_REQUIRED
                for person in people or [None]:
                    pub.publish(messages.Pose(
                        seq=pub.next_seq("pose"), t_capture_ns=frame.t_capture_ns, frame_id=frame.frame_id,
                        width=frame.width, height=frame.height, model=front.name, backend=front.backend,
                        layout=front.layout, keypoints=rounded(person.keypoints, 2) if person else [],
                        latency_ms=round(front.latency_ms, 2), z=rounded(person.z, 2) if person else [],
                        world=rounded(person.world, 4) if person else [],
                        track=person.track if person else 0, people=len(people)))
                health.stats.tick(time.monotonic(), front.latency_ms)
            detail = {"model": front.name, "tpu_problem": front.tpu_problem}
            if isinstance(front, GroupEstimator):
                detail.update(people=len(front.members), detector_runs=front.detector_runs)
            health.maybe_publish(time.monotonic(), dropped=frames.dropped, malformed=frames.malformed,
                                 backend=front.backend, detail=detail)
        return 0
    finally:
        frames.close()
        pub.close()
