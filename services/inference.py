"""Inference service: newest Frame → pose model → publish Pose (lossless to scoring).

Group mode (scoring.mode = "group"): every person in view (models/group.py), one Pose per person
with their spot, or one empty Pose (spot 0) when nobody is followed."""
from __future__ import annotations

import time

import numpy as np

from common.bus import messages
from common.bus.service import HealthReporter, ServiceContext
from common.bus.sockets import Publisher, Subscriber
from common.coach import routine as routines
from models import catalog
from models.estimator import Estimator, TpuRequired
from models.group import GroupEstimator

EXIT_TPU_REQUIRED = 3


def rounded(values: np.ndarray | None, decimals: int) -> list:
    """The model's numbers as the message's lists, rounded (a hundredth of a pixel, a tenth of a
    millimetre) in one array pass: per number in Python this was 0.3 ms a frame on the way to
    the Score. Same values as round(float(v), decimals)."""
    return [] if values is None else np.round(np.asarray(values, dtype=np.float64), decimals).tolist()


def class_routine(ctx: ServiceContext):
    """The routine the class does (its members are who does it); None if it cannot be read here
    (scoring says why): then everyone followed is a member."""
    try:
        return routines.load(ctx.config.scoring.routine)
    except routines.RoutineError as exc:
        ctx.log.warning("group mode: %s; everyone in view is taken as a member", exc)
        return None


def main(ctx: ServiceContext) -> int:
    cfg = ctx.config.inference
    try:
        # An Edge TPU model's threads are its CPU fallback's.
        threads = cfg.threads_for(catalog.spec(cfg.model).cpu_fallback or cfg.model)
        if ctx.config.scoring.mode == "group":
            # The class's members are the people doing its routine (a passer-by gets no spot).
            group = GroupEstimator(cfg.model, cfg.cache_dir, threads, ctx.config.scoring.max_people,
                                   model_path=cfg.model_path, tpu_device=cfg.tpu_device, tpu_library=cfg.edgetpu_library,
                                   routine=class_routine(ctx), require_tpu=cfg.require_tpu)
            if cfg.require_tpu and group.backend != "edgetpu":
                raise TpuRequired(f"Edge TPU required but unavailable: {group.tpu_problem or cfg.model + ' runs on the CPU'}")
            return run_group(ctx, group)
        estimator = Estimator(cfg.model, cfg.model_path, cfg.cache_dir, threads, cfg.tpu_device, cfg.require_tpu,
                              tpu_library=cfg.edgetpu_library)
    except TpuRequired as exc:
        ctx.log.error("%s", exc)
        return EXIT_TPU_REQUIRED
    except catalog.ModelError as exc:
        ctx.log.error("%s", exc)
        return 2
    ctx.log.info("model %s on %s (%d CPU threads)", estimator.name, estimator.backend, threads)
    frames = Subscriber(ctx.zmq, ctx.endpoints(), ["frame"])
    pub = Publisher(ctx.zmq, ctx.endpoint())
    health = HealthReporter(ctx.name, pub)
    last_source = ""
    try:
        while not ctx.stop.is_set():
            for frame in frames.receive(timeout_ms=200):
                if frame.source != last_source:
                    estimator.reset()  # new video or camera: do not track across a cut
                    last_source = frame.source
                try:
                    result = estimator.estimate(frame.pixels, frame.t_capture_ns / 1e9)
                except TpuRequired as exc:
                    ctx.log.error("%s", exc)
                    return EXIT_TPU_REQUIRED
                if not frames.still_holds(frame):
                    continue  # the camera overwrote its pixels while the model read them: not this frame's pose
                kps = result.keypoints
                pub.publish(messages.Pose(
                    seq=pub.next_seq("pose"), t_capture_ns=frame.t_capture_ns, frame_id=frame.frame_id,
                    width=frame.width, height=frame.height, model=estimator.name, backend=estimator.backend,
                    layout=estimator.layout, keypoints=rounded(kps, 2), latency_ms=round(result.latency_ms, 2),
                    z=rounded(result.z, 2), world=rounded(result.world, 4)))
                health.stats.tick(time.monotonic(), result.latency_ms)
            health.maybe_publish(time.monotonic(), dropped=frames.dropped, malformed=frames.malformed,
                                 backend=estimator.backend,
                                 detail={"model": estimator.name, "tpu_problem": estimator.tpu_problem})
        return 0
    finally:
        frames.close()
        pub.close()


def run_group(ctx: ServiceContext, group: GroupEstimator) -> int:
    """The loop of group mode: each frame's people, one Pose each (an empty one for nobody)."""
    ctx.log.info("group mode: following up to %d people with %s on %s", group.max_people, group.name,
                 "the Edge TPU" if group.backend == "edgetpu" else "the CPU")
    frames = Subscriber(ctx.zmq, ctx.endpoints(), ["frame"])
    pub = Publisher(ctx.zmq, ctx.endpoint())
    health = HealthReporter(ctx.name, pub)
    last_source = ""
    try:
        while not ctx.stop.is_set():
            for frame in frames.receive(timeout_ms=200):
                if frame.source != last_source:
                    group.reset()  # new video or camera: do not track across a cut
                    last_source = frame.source
                start = time.perf_counter()
                try:
                    people = [p for p in group.estimate(frame.pixels, frame.t_capture_ns / 1e9) if p.spot is not None]
                except TpuRequired as exc:  # require_tpu: the Edge TPU failed mid-class
                    ctx.log.error("%s", exc)
                    return EXIT_TPU_REQUIRED
                latency_ms = (time.perf_counter() - start) * 1000.0
                if not frames.still_holds(frame):
                    continue
                for person in people or [None]:
                    pub.publish(messages.Pose(
                        seq=pub.next_seq("pose"), t_capture_ns=frame.t_capture_ns, frame_id=frame.frame_id,
                        width=frame.width, height=frame.height, model=group.name, backend=group.backend,
                        layout=group.layout, keypoints=rounded(person.keypoints, 2) if person else [],
                        latency_ms=round(latency_ms, 2), world=rounded(person.world, 4) if person else [],
                        spot=person.spot if person else 0))
                health.stats.tick(time.monotonic(), latency_ms)
            health.maybe_publish(time.monotonic(), dropped=frames.dropped, malformed=frames.malformed,
                                 backend=group.backend, detail={"model": group.name, "people": len(group.members),
                                                                "detector_runs": group.detector_runs})
        return 0
    finally:
        frames.close()
        pub.close()
