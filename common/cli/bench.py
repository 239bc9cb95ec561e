"""`silvergym bench`: what the model costs, what the bus adds, and that inference never waits.

Every figure is measured in this one run, side by side, and reported as medians (and ratios).
Phases per model: bare interpreter loop; full pipeline unpaced; paced at 30 fps (latency);
the pipeline with the renderer stalled and the broker down (isolation); a naive single-process
loop under the same stall. Then the bus itself, message codecs and the scorer.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import zmq

from common import config as configuration
from common.bus import messages
from common.bus.sockets import Publisher, Subscriber
from common.mosquitto import BrokerError, LocalBroker, free_port

W, H = 640, 480


def _pct(values, q) -> float | None:
    """A percentile, or None (JSON null, "not measured" in the table) when nothing was measured:
    never NaN, which is not JSON."""
    return round(float(np.percentile(values, q)), 3) if len(values) else None


def bench_frames(shared: Path | None, count: int = 60) -> list[np.ndarray]:
    """640x480 frames of a real clip (../shared/media/dancer.mp4) or, without it, of a drawn person
    the models recognise (so every figure is measured anyway)."""
    clip = shared / "media" / "dancer.mp4" if shared else None
    frames = []
    if clip and clip.exists():
        cap = cv2.VideoCapture(str(clip))
        while len(frames) < count:
            ok, f = cap.read()
            if not ok:
                break
            frames.append(cv2.resize(f, (W, H)))
        cap.release()
    if not frames:
        from common.coach import routine as routines
        from common.coach.synthetic import draw_person, pose3d
        r = routines.load("arm_raise")
        frames = [draw_person(pose3d(r.target(i / 10), center_x=W / 2, floor_y=H * 0.95), W, H) for i in range(count)]
    return frames


def write_video(frames, path: Path, fps: float = 30.0) -> Path:
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (W, H))
    for _ in range(3):
        for f in frames:
            out.write(f)
    out.release()
    return path


# -- 1. bare model ------------------------------------------------------------------------------
def bare_model(model: str, frames, seconds: float, threads: int) -> dict:
    from models.estimator import Estimator

    est = Estimator(model, threads=threads)
    for i in range(10):  # warm-up: caches, XNNPACK packing
        est.estimate(frames[i % len(frames)], i / 30)
    times = []
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        est.estimate(frames[i % len(frames)], i / 30)
        times.append((time.perf_counter() - t0) * 1000)
        i += 1
    return {"backend": est.backend, "name": est.name, "threads": threads,
            "fps": round(len(times) / (time.perf_counter() - start), 2),
            "ms_p50": _pct(times, 50), "ms_p95": _pct(times, 95)}


# -- 2-4. the real graph ------------------------------------------------------------------------
class Graph:
    """The five services under the supervisor, in a thread of this process."""

    def __init__(self, overrides: dict):
        from common.cli.supervisor import Supervisor

        self.cfg = configuration.load(None, overrides)
        # Children log to stderr so that stdout stays the table and the JSON line.
        self.sup = Supervisor(self.cfg, ["camera", "inference", "scoring", "renderer", "uplink"], None, overrides,
                              child_stdout=sys.stderr)
        self.thread = threading.Thread(target=self.sup.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.sup.stop.set()
        self.thread.join(timeout=10)

    def cpu_s(self) -> dict:
        """CPU seconds (user + system) each service has used so far."""
        out = {}
        tick = os.sysconf("SC_CLK_TCK")
        for name, child in self.sup.children.items():
            try:
                fields = Path(f"/proc/{child.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                out[name] = (int(fields[11]) + int(fields[12])) / tick
            except (OSError, AttributeError, IndexError):
                out[name] = 0.0
        return out

    def rss_mb(self) -> dict:
        out = {}
        for name, child in self.sup.children.items():
            try:
                status = Path(f"/proc/{child.proc.pid}/status").read_text()
                out[name] = round(int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS"))) / 1024, 1)
            except (OSError, AttributeError, StopIteration):
                out[name] = None
        return out


def observe(cfg, seconds: float, warmup_s: float = 4.0, want_latency: bool = False, graph=None) -> dict:
    ctx = zmq.Context()
    sub = Subscriber(ctx, cfg.bus.all_endpoints(), ["pose", "score", "health"])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait for poses to flow (model load, slow joiners)
            if any(m.TOPIC == "pose" for m in sub.receive(200)):
                break
        # The renderer's count of draws, from its Health (every 2 s: the warm-up's count too, so
        # that a short phase still has two).
        draws: list[tuple[float, int]] = []

        def count_draws(m) -> None:
            if m.TOPIC == "health" and m.service == "renderer" and "draws" in m.detail:
                draws.append((time.monotonic(), m.detail["draws"]))
        end_warmup = time.monotonic() + warmup_s
        while time.monotonic() < end_warmup:
            for m in sub.receive(100):
                count_draws(m)
        poses, latencies, model_ms, dropped0, dropped1 = 0, [], [], None, None
        cpu0 = graph.cpu_s() if graph else {}
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            for m in sub.receive(100):
                if m.TOPIC == "pose":
                    poses += 1
                    model_ms.append(m.latency_ms)  # the model's own time on this frame, inside the graph
                elif m.TOPIC == "score" and want_latency:
                    latencies.append((time.monotonic_ns() - m.t_capture_ns) / 1e6)
                elif m.TOPIC == "health" and m.service == "inference":
                    dropped0 = m.dropped if dropped0 is None else dropped0
                    dropped1 = m.dropped
                else:
                    count_draws(m)
        elapsed = time.monotonic() - start
        out = {"inference_fps": round(poses / elapsed, 2)}
        if graph:  # CPU each service used over the window: cores kept busy, and ms per frame inferred
            cpu1 = graph.cpu_s()
            used = {n: cpu1[n] - cpu0.get(n, 0.0) for n in cpu1}
            out["cpu_cores"] = {n: round(v / elapsed, 3) for n, v in used.items()}
            out["cpu_ms_per_frame"] = {n: round(v * 1000 / poses, 3) if poses else None for n, v in used.items()}
            if len(draws) >= 2 and draws[-1][1] > draws[0][1]:  # the renderer's own count between two Health
                draws_per_s = (draws[-1][1] - draws[0][1]) / (draws[-1][0] - draws[0][0])
                out["renderer_draws_per_s"] = round(draws_per_s, 2)
                out["renderer_ms_per_draw"] = round(used.get("renderer", 0.0) / elapsed / draws_per_s * 1000, 3)
        if want_latency:
            out.update(latency_ms_p50=_pct(latencies, 50), latency_ms_p95=_pct(latencies, 95),
                       latency_ms_p99=_pct(latencies, 99), model_ms_p50=_pct(model_ms, 50),
                       model_ms_p95=_pct(model_ms, 95),
                       frames_dropped_per_s=round(((dropped1 or 0) - (dropped0 or 0)) / elapsed, 2))
        return out
    finally:
        sub.close()
        ctx.destroy(linger=0)


def graph_overrides(tmp: Path, model: str, video: Path, pace: str, broker_port: int, stall_ms: float = 0,
                    threads: int = 0, routine: str = "arm_raise") -> dict:
    """The graph as shipped (renderer at its default 30 fps, threads auto unless given)."""
    return {
        "bus": {"runtime_dir": str(tmp / "run")},
        "camera": {"source": str(video), "pace": pace, "loop": True},
        "inference": {"model": model, "threads": threads},
        "scoring": {"routine": routine, "start_delay_s": 0.5},
        "renderer": {"display": "headless", "voice": False, "stall_ms": stall_ms},
        "uplink": {"port": broker_port, "spool_path": str(tmp / "spool.db")},
    }


# -- 5. bus and codecs ---------------------------------------------------------------------------
def bus_bench(n: int = 300) -> dict:
    frame_pixels = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)
    from common.bus.framering import FrameRingWriter, ring_path

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("ring", "ipc", "tcp"):
            endpoint = f"ipc://{tmp}/camera.sock" if kind != "tcp" else f"tcp://127.0.0.1:{free_port()}"
            ctx = zmq.Context()
            pub = Publisher(ctx, endpoint, latest_only=True)
            sub = Subscriber(ctx, {"camera": endpoint}, ["frame"])
            # "ring": the pixels in the camera's shared-memory ring, only the header on the socket.
            ring = FrameRingWriter(ring_path(endpoint)) if kind == "ring" else None

            def make(i: int) -> messages.Frame:
                if ring is None:
                    return messages.Frame(seq=i, t_capture_ns=0, frame_id=i, width=W, height=H, pixels=frame_pixels)
                slot = ring.commit(frame_pixels, i)
                return messages.Frame(seq=i, t_capture_ns=0, frame_id=i, width=W, height=H, ring_id=ring.ring_id,
                                      ring_slot=slot)
            try:
                times = []
                deadline = time.monotonic() + 10  # ZeroMQ's slow joiner: wait until frames arrive
                i = 0
                while time.monotonic() < deadline:
                    pub.publish(make(i))
                    i += 1
                    if sub.receive(100):
                        break
                while sub.receive(300):  # warm-up frames still in flight would be taken for measured ones
                    pass
                for i in range(i, i + n):
                    t0 = time.perf_counter()
                    pub.publish(make(i))
                    # A latest-only publisher may drop a frame while ZeroMQ has not yet heard that the
                    # last one was read (its high-water mark is tiny on purpose): counted, not waited for.
                    got = sub.receive(1000)
                    dt = time.perf_counter() - t0
                    if got:
                        times.append(dt * 1e6)
                p50 = _pct(times, 50)
                out[kind] = {"frame_us_p50": p50, "frame_us_p99": _pct(times, 99),
                             "gb_per_s": round(frame_pixels.nbytes / (p50 * 1e-6) / 1e9, 2) if p50 else None,
                             "received": len(times),
                             "dropped_latest_only": n - len(times)}
            finally:
                sub.close()
                pub.close()
                if ring is not None:
                    ring.close(unlink=True)
                ctx.destroy(linger=0)
    out["codec_us"] = codec_bench(frame_pixels)
    out["ring_copy_us"] = ring_copy_bench()
    return out


def ring_copy_bench(n: int = 200) -> dict:
    """Median µs for inference's own copy of a picture out of the camera's shared-memory ring
    (services/inference.py copies before the model reads, so a read slower than the ring is not
    lost), through a real ring writer and reader, at the bench's size and at 1280x720."""
    from common.bus.framering import FrameRingReader, FrameRingWriter, ring_path

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for w, h in ((W, H), (1280, 720)):
            path = ring_path(f"ipc://{tmp}/camera-{w}x{h}.sock")
            writer = FrameRingWriter(path)
            reader = None
            try:
                picture = np.random.default_rng(1).integers(0, 255, (h, w, 3), dtype=np.uint8)
                slot = writer.commit(picture, 1)
                reader = FrameRingReader(path)
                view = reader.pixels(writer.ring_id, slot, 1)
                if view is None or not np.array_equal(view, picture):
                    raise RuntimeError("the ring did not give back the picture written into it")
                out[f"{w}x{h}"] = _time_us(lambda: np.array(view), n)
            finally:
                if reader is not None:
                    reader.close()
                writer.close(unlink=True)
    return out


def wake_floor(seconds: float = 5.0, rate_hz: float = 30.0) -> dict:
    """What a process pays per frame just to be in the graph: its main thread waking `rate_hz`
    times a second to take one small Pose off a real socket (poll, receive, decode and range
    check) and nothing else. Every service that follows the frames pays at least this; measured
    with the thread's own CPU clock, the publisher in a thread of its own."""
    with tempfile.TemporaryDirectory() as tmp:
        endpoint = f"ipc://{tmp}/inference.sock"  # poses come from inference
        pub_ctx, sub_ctx = zmq.Context(), zmq.Context()
        pub = Publisher(pub_ctx, endpoint)
        sub = Subscriber(sub_ctx, {"inference": endpoint}, ["pose"])
        stop = threading.Event()

        def publish() -> None:
            i = 0
            while not stop.wait(1.0 / rate_hz):
                pub.publish(messages.Pose(seq=i, t_capture_ns=i, frame_id=i, width=W, height=H, model="m",
                                          backend="cpu", layout="blazepose33", keypoints=[[320.0, 240.0, 0.9]] * 33,
                                          world=[[0.1, -0.5, 0.05]] * 33))
                i += 1
        sender = threading.Thread(target=publish, daemon=True)
        sender.start()
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not sub.receive(100):  # ZeroMQ's slow joiner
                pass
            taken, cpu0, end = 0, time.thread_time(), time.monotonic() + seconds
            while time.monotonic() < end:
                taken += len(sub.receive(100))
            cpu = time.thread_time() - cpu0
        finally:
            stop.set()
            # Until the sender has stopped: closing its socket while it publishes, from this thread,
            # is what a ZeroMQ socket must never see (a join that gave up after 2 s allowed it).
            sender.join()
            sub.close()
            pub.close()
            pub_ctx.destroy(linger=0)
            sub_ctx.destroy(linger=0)
    return {"rate_hz": rate_hz, "messages": taken,
            "ms_per_message": round(cpu * 1000 / taken, 3) if taken else None}


def _time_us(fn, n=200) -> float:
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e6)
    return _pct(times, 50)


def codec_bench(pixels) -> dict:
    import msgpack

    frame = messages.Frame(seq=1, t_capture_ns=1, frame_id=1, width=W, height=H, pixels=pixels)
    wire = bytes(messages.to_wire(frame))
    header = messages.encode(frame)
    blob = msgpack.packb({**msgpack.unpackb(header), "pixels": pixels.tobytes()})
    pose = messages.Pose(seq=1, t_capture_ns=1, frame_id=1, width=W, height=H, model="m", backend="cpu",
                         layout="blazepose33", keypoints=[[100.0, 200.0, 0.9]] * 33, z=[1.0] * 33, world=[[0.1, -0.5, 0.05]] * 33)
    pose_wire = bytes(messages.to_wire(pose))
    return {
        "frame_one_part_encode": _time_us(lambda: messages.to_wire(frame)),
        "frame_one_part_decode": _time_us(lambda: messages.from_wire(wire)),
        "frame_msgpack_blob_encode": _time_us(lambda: msgpack.packb({**msgpack.unpackb(header), "pixels": pixels.tobytes()})),
        "frame_msgpack_blob_decode": _time_us(
            lambda: np.frombuffer(msgpack.unpackb(blob)["pixels"], np.uint8).reshape(H, W, 3).copy()),
        "frame_two_part_header_only": _time_us(lambda: (messages.encode(frame), messages.decode("frame", header, pixels.data))),
        "pose_encode": _time_us(lambda: messages.to_wire(pose)),
        "pose_decode": _time_us(lambda: messages.from_wire(pose_wire)),
    }


# -- 6. scorer ---------------------------------------------------------------------------------
def scoring_bench(n: int = 300) -> dict:
    """Median µs per Pose for the whole scorer, and for the alignment alone (TempoTracker), on a
    participant at 0.8x the squat routine's tempo (15 fps)."""
    from common.coach import routine as routines
    from common.coach.geometry import joint_angles
    from common.coach.scoring import SessionScorer
    from common.coach.synthetic import pose3d
    from common.coach.warp import TempoTracker

    r = routines.load("squat")
    scorer, tracker = SessionScorer(r), TempoTracker(r)
    poses = [pose3d(r.target(0.8 * i / 15)) for i in range(n)]
    whole, alignment = [], []
    for i, xyz in enumerate(poses):
        c = np.column_stack([xyz[:, :2], np.full(len(xyz), 0.9)])
        t0 = time.perf_counter()
        scorer.update(i / 15, c, xyz)
        whole.append((time.perf_counter() - t0) * 1e6)
        angles = joint_angles(c, xyz)
        t0 = time.perf_counter()
        tracker.update(i / 15, angles)
        alignment.append((time.perf_counter() - t0) * 1e6)
    # The fall watch beside it (services/scoring.py), its memory of upright moments full (10 s at 30 fps):
    # every pose takes the median and the 90th percentile of the trunks remembered.
    from common.coach.fall import FallDetector
    detector, watch = FallDetector(), []
    for i in range(3 * n):
        xyz = poses[i % n]
        c = np.column_stack([xyz[:, :2], np.full(len(xyz), 0.9)])  # pixels of a 640x480 picture
        t0 = time.perf_counter()
        detector.update(i / 30, c, 480.0)
        if i >= n:  # past the first 10 s: the memory full
            watch.append((time.perf_counter() - t0) * 1e6)
    return {"scoring_us_per_pose": _pct(whole, 50), "alignment_us_per_pose": _pct(alignment, 50),
            "fall_watch_us_per_pose": _pct(watch, 50)}


# -- 7. the prototype's way --------------------------------------------------------------------
def edge_child_cost(frames, n: int = 300) -> dict:
    """What keeping the Edge TPU interpreter in a child process (models/tpu_worker.py) costs per
    frame: MoveNet on one CPU thread in this process and in a child without a delegate, invoke by
    invoke alternately, each with the frame's input tensor going in and the keypoints coming out."""
    import cv2

    from models import catalog, runtime
    from models.tpu_worker import IsolatedInterpreter

    try:
        path = str(catalog.paths("movenet-lightning")["model"])
    except catalog.ModelError as exc:
        return {"skipped": str(exc)}
    here = runtime.cpu_interpreter(path, 1)
    child = IsolatedInterpreter(path, library="")
    try:
        child.wait_ready()
        inp, out = here.get_input_details()[0], here.get_output_details()[0]
        tensors = [cv2.resize(f, tuple(inp["shape"][1:3]))[None].astype(inp["dtype"]) for f in frames[:10]]
        times = {"here": [], "child": []}
        for i in range(n + 10):
            for name, it in (("here", here), ("child", child)):
                t0 = time.perf_counter()
                it.set_tensor(inp["index"], tensors[i % len(tensors)])
                it.invoke()
                it.get_tensor(out["index"])
                if i >= 10:
                    times[name].append((time.perf_counter() - t0) * 1000)
    finally:
        child.close()
    here_ms, child_ms = _pct(times["here"], 50), _pct(times["child"], 50)
    return {"in_process_ms_p50": round(here_ms, 3), "child_ms_p50": round(child_ms, 3),
            "extra_ms_p50": round(child_ms - here_ms, 3), "frames": n}


GROUP_SIZES = (1, 2, 3, 4)
GROUP_FPS = 15.0  # a class is followed at 15 frames a second (the Pi's target)
COLUMN_W = 320  # each person's column on the class picture, cut from the bench clip around them


def class_pictures(frames, people: int, count: int, centre_x: float) -> list[np.ndarray]:
    """`count` pictures of `people` side by side: each a COLUMN_W-wide column of the bench clip
    around its person, each column at another moment of the clip (played forth and back, no cut)."""
    height, width = frames[0].shape[:2]
    left = int(min(max(centre_x - COLUMN_W / 2, 0), width - COLUMN_W))
    period = max(1, 2 * len(frames) - 2)

    def at(i: int) -> np.ndarray:
        k = i % period
        return frames[k if k < len(frames) else period - k][:, left:left + COLUMN_W]

    return [np.concatenate([at(i + 11 * p) for p in range(people)], axis=1) for i in range(count)]


def group_bench(models: list[str], frames, count: int = 60, warmup: int = 15) -> dict:
    """Group mode's cost with 1-4 people (models/group.py), one interpreter thread (the Pi's paper
    figures scale these): mean and p95 ms per frame (the mean decides the sustained rate, since the
    detector's passes are uneven), CPU ms per frame, fps, people followed and the detector's passes
    per 100 frames at 15 fps; plus the detector alone on the class picture."""
    from models import catalog
    from models.group import GroupEstimator, mid_x

    out: dict = {}
    try:
        finder = GroupEstimator("blazepose-full", threads=1)
    except catalog.ModelError as exc:
        return {"skipped": str(exc)}
    found = finder.estimate(frames[0], 0.0)
    centre_x = mid_x(found[0].keypoints) if found else frames[0].shape[1] / 2
    for model in models:
        try:
            GroupEstimator(model, threads=1)
        except catalog.ModelError as exc:
            out[model] = {"skipped": str(exc)}
            continue
        rows = {}
        for people in GROUP_SIZES:
            pictures = class_pictures(frames, people, warmup + count, centre_x)
            group = GroupEstimator(model, threads=1, max_people=4)
            for i in range(warmup):  # the class as it starts: everyone found and through probation
                group.estimate(pictures[i], i / GROUP_FPS)
            runs_before, cpu_before, walls, followed = group.detector_runs, time.process_time(), [], []
            for i in range(warmup, warmup + count):
                start = time.perf_counter()
                seen = group.estimate(pictures[i], i / GROUP_FPS)
                walls.append((time.perf_counter() - start) * 1000.0)
                followed.append(len(seen))  # everyone followed (members or not: the cost is the same)
            cpu_ms = (time.process_time() - cpu_before) * 1000.0 / count
            runs = group.detector_runs - runs_before
            detector_ms = _time_us(lambda: group._find(pictures[-1]), n=5) / 1000.0
            mean = statistics.fmean(walls)
            rows[str(people)] = {"ms_mean": round(mean, 2), "ms_p95": _pct(walls, 95), "fps": round(1000.0 / mean, 1),
                                 "cpu_ms_per_frame": round(cpu_ms, 2), "followed_median": statistics.median(followed),
                                 "detector_runs_per_100": round(100.0 * runs / count, 1),
                                 "detector_ms": round(detector_ms, 2), "width": pictures[0].shape[1]}
        out[model] = rows
    return out


def sysbench_single_thread(seconds: int = 10) -> float | None:
    """sysbench's single-thread CPU score (events/s, primes to 10000) on this machine: the figure the
    Pi's budget on paper is scaled by, as published for a Pi 4 and a Pi 5 (benchdoc.PI_SYSBENCH).
    None without sysbench (`apt install sysbench`)."""
    import shutil
    import subprocess

    if not shutil.which("sysbench"):
        return None
    done = subprocess.run(["sysbench", "cpu", "--threads=1", f"--time={seconds}", "run"], capture_output=True,
                          text=True, timeout=seconds + 30)
    for line in done.stdout.splitlines():
        if "events per second" in line:
            return float(line.split(":")[1])
    return None


def naive_loop(model: str, video: Path, seconds: float, stall_ms: float) -> dict:
    """capture -> infer -> draw -> publish, one after another in one process."""
    import os

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import paho.mqtt.client as mqtt
    import pygame
    from paho.mqtt.enums import CallbackAPIVersion

    from common.config import auto_threads
    from models.estimator import Estimator

    est = Estimator(model, threads=auto_threads())
    pygame.display.init()
    surface = pygame.Surface((1280, 720))
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    broker_down_port = free_port()
    cap = cv2.VideoCapture(str(video))
    n, start = 0, time.perf_counter()
    try:
        while time.perf_counter() - start < seconds:
            ok, bgr = cap.read()
            if not ok:
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                continue
            est.estimate(bgr, n / 30)
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            surface.blit(pygame.transform.smoothscale(pygame.image.frombuffer(rgb.tobytes(), (W, H), "RGB"), (960, 720)), (0, 0))
            time.sleep(stall_ms / 1000)
            try:  # the prototype published every result itself; with the broker down this fails
                client.connect("127.0.0.1", broker_down_port, keepalive=5)
            except OSError:
                pass
            n += 1
    finally:
        cap.release()
        pygame.quit()
    return {"fps": round(n / (time.perf_counter() - start), 2)}


THREAD_COUNTS = (1, 2, 4)
# camera, bus, scoring and TV together, per frame at 30 fps: what has to fit beside the model on a Pi.
BUDGET_MS_PER_FRAME = 2.0
NOT_THE_MODEL = ("camera", "scoring", "renderer", "uplink")


def instructor_routine(video: Path, folder: Path, model: str) -> Path | None:
    """A routine built from the bench's own clip, with its video, looping for as long as a phase
    runs: the TV then plays the instructor's video the whole time. None (said) when the model
    finds no one to build it from."""
    import dataclasses

    from common.cli.routine import build_from_video, write_routine
    from common.coach import routine as routines

    folder.mkdir(parents=True, exist_ok=True)
    try:
        r = build_from_video(str(video), "bench_instructor", model, folder)
    except routines.RoutineError as exc:
        print(f"bench: no instructor video phase ({exc})", file=sys.stderr)
        return None
    write_routine(dataclasses.replace(r, loop=True, duration_s=3600.0), folder / "bench_instructor.json")
    return folder / "bench_instructor.json"


def run_model(model: str, frames, video30: Path, seconds: float, log, instructor: Path | None = None) -> dict:
    from common.config import auto_threads

    res: dict = {"threads_default": auto_threads(), "cores": os.cpu_count()}
    log(f"[{model}] 1/6 bare model loop at 1, 2 and 4 interpreter threads")
    res["threads_table"] = {str(n): bare_model(model, frames, seconds / 2, threads=n) for n in THREAD_COUNTS}
    res["bare"] = bare_model(model, frames, seconds, threads=res["threads_default"])
    all_cores = min(os.cpu_count() or 1, 4)
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        try:
            broker = LocalBroker(workdir=str(tmp / "broker")).start()
        except BrokerError:
            broker = None
        port = broker.port if broker else free_port()
        try:
            log(f"[{model}] 2/6 full pipeline, unpaced, default threads ({res['threads_default']})")
            with Graph(graph_overrides(tmp / "a", model, video30, "unpaced", port)) as g:
                res["pipeline"] = observe(g.cfg, seconds, graph=g)
                res["rss_mb"] = g.rss_mb()
            if all_cores != res["threads_default"]:
                # The interpreter on every core instead: faster alone, but it competes with the rest.
                log(f"[{model}] 3/6 full pipeline, unpaced, interpreter on all {all_cores} cores")
                res["bare_all_cores"] = bare_model(model, frames, seconds, threads=all_cores)
                with Graph(graph_overrides(tmp / "a1", model, video30, "unpaced", port, threads=all_cores)) as g:
                    res["pipeline_all_cores"] = observe(g.cfg, seconds, graph=g)
            log(f"[{model}] 4/6 paced at 30 fps")
            with Graph(graph_overrides(tmp / "b", model, video30, "realtime", port)) as g:
                res["paced30"] = observe(g.cfg, seconds, want_latency=True, graph=g)
            if instructor:
                log(f"[{model}] 4/6 again, the instructor's video on the TV: paced 30 fps, then unpaced in "
                    f"{PAIRS} pairs with the drawn instructor")
                with Graph(graph_overrides(tmp / "v", model, video30, "realtime", port, routine=str(instructor))) as g:
                    res["paced30_video"] = observe(g.cfg, seconds, graph=g)
                res["video_pairs"] = video_pairs(model, video30, instructor, seconds, port, tmp)
            log(f"[{model}] 5/6 renderer stalled 200 ms per draw and broker down, unpaced, in {PAIRS} pairs with "
                "the normal graph")
            res["isolation_pairs"] = isolation_pairs(model, video30, seconds, port, tmp)
        finally:
            if broker:
                broker.stop()
        stalled = [p["stalled_fps"] for p in res["isolation_pairs"]]
        res["isolated"] = {"inference_fps": round(statistics.median(stalled), 2) if stalled else None}
    log(f"[{model}] 6/6 naive single-process loop, same stall")
    res["naive_stalled"] = naive_loop(model, video30, seconds, 200)
    res["pipeline_ratio"] = _ratio(res["pipeline"]["inference_fps"], res["bare"]["fps"])
    if "pipeline_all_cores" in res:
        res["pipeline_ratio_all_cores"] = _ratio(res["pipeline_all_cores"]["inference_fps"], res["bare_all_cores"]["fps"])
    # The stalled renderer and the broker down, over the normal graph.
    res["isolation_ratio"] = round(statistics.median(p["ratio"] for p in res["isolation_pairs"]), 3) \
        if res["isolation_pairs"] else None
    if res.get("video_pairs"):  # inference with the instructor's video playing, over the drawn instructor
        res["video_isolation_ratio"] = round(statistics.median(p["ratio"] for p in res["video_pairs"]), 3)
    res["pipeline_over_naive"] = _ratio(res["isolated"]["inference_fps"], res["naive_stalled"]["fps"])
    res["latency_target_ms"] = round(res["bare"]["ms_p50"] + 5, 2) if res["bare"]["ms_p50"] is not None else None
    per_frame = res["paced30"].get("cpu_ms_per_frame", {})
    parts = [per_frame.get(n) for n in NOT_THE_MODEL]
    res["budget_ms_per_frame"] = BUDGET_MS_PER_FRAME
    res["not_model_ms_per_frame"] = round(sum(parts), 3) if parts and None not in parts else None
    return res


PAIRS = 3


def paired(graphs: dict[str, Callable[[int], dict]], seconds: float) -> list[dict]:
    """Unpaced inference in two graphs (the first named is the reference), run back to back in
    PAIRS pairs, the order alternating: on a shared 2-core machine the rate drifts by several
    percent between phases minutes apart (MoveNet's ~180 fps by up to 10 %), which one pair
    mistakes for what the second graph changes. Each pair: both rates and second ÷ first; the
    ratio to report is the median of the pairs'."""
    (first, _), (second, _) = graphs.items()
    pairs = []
    for i in range(PAIRS):
        fps = {}
        for kind in ((first, second) if i % 2 == 0 else (second, first)):
            with Graph(graphs[kind](i)) as g:  # a folder of its own each time: nothing carries over
                fps[kind] = observe(g.cfg, seconds / 2, graph=g)["inference_fps"]
        ratio = _ratio(fps[second], fps[first])
        if ratio is not None:
            pairs.append({f"{first}_fps": fps[first], f"{second}_fps": fps[second], "ratio": ratio})
    return pairs


def video_pairs(model: str, video30: Path, instructor: Path, seconds: float, port: int, tmp: Path) -> list[dict]:
    """The drawn instructor, then the instructor's video playing: the video is decoded in the
    renderer only, so inference should not slow."""
    return paired({"drawn": lambda i: graph_overrides(tmp / f"pair{i}drawn", model, video30, "unpaced", port),
                   "video": lambda i: graph_overrides(tmp / f"pair{i}video", model, video30, "unpaced", port,
                                                      routine=str(instructor))}, seconds)


def isolation_pairs(model: str, video30: Path, seconds: float, port: int, tmp: Path) -> list[dict]:
    """The normal graph, then the renderer sleeping 200 ms per draw and the broker down (the
    uplink's port has no broker): inference must not slow."""
    return paired({"normal": lambda i: graph_overrides(tmp / f"iso{i}normal", model, video30, "unpaced", port),
                   "stalled": lambda i: graph_overrides(tmp / f"iso{i}stalled", model, video30, "unpaced", free_port(),
                                                        stall_ms=200)}, seconds)


def _ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def angle_agreement(shared: Path | None) -> dict:
    """How far movenet-lightning's joint angles (image x, y) are from blazepose-full's (world
    landmarks, within ~2° of MediaPipe's: tests/test_real_reps.py) on each real clip, read as
    `silvergym score` reads it: mean and p90 |difference| in degrees over the joint angles both
    models give on the same frames. Empty without ../shared/media."""
    from common.cli.routine import poses_from_video
    from common.coach.geometry import joint_angles

    media = shared / "media" if shared else None
    if not media or not media.is_dir():
        return {}
    out = {}
    for clip in sorted(media.glob("*.mp4")):
        blaze_poses, blaze_worlds, _ = poses_from_video(str(clip), "blazepose-full")
        movenet_poses, _, _ = poses_from_video(str(clip), "movenet-lightning")
        diffs: list[float] = []
        for blaze, world, movenet in zip(blaze_poses, blaze_worlds, movenet_poses):
            a, b = joint_angles(blaze, world), joint_angles(movenet)
            diffs += [abs(a[j] - b[j]) for j in a if j in b and a[j] is not None and b[j] is not None]
        out[clip.name] = {"mean_abs_deg": round(float(np.mean(diffs)), 1) if diffs else None,
                          "p90_abs_deg": _pct(diffs, 90), "angles": len(diffs)}
    return out


def run(args) -> int:
    from common.bus.service import setup_logging

    setup_logging("bench", stream=sys.stderr)
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # stdout is the table and the JSON line only
    from common.media import shared_dir

    shared = shared_dir()
    models = [args.model] if args.model else ["blazepose-full", "movenet-lightning"]
    log = (lambda s: print(s, file=sys.stderr, flush=True))
    frames = bench_frames(shared)
    result: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                    "seconds": args.seconds, "frames_from": "dancer.mp4 resized to 640x480" if (shared / "media").exists()
                    else "a drawn person (no ../shared/media)", "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        video30 = write_video(frames, Path(tmp) / "bench_640x480_30fps.mp4")
        log("a routine with an instructor's video, built from the bench clip")
        instructor = instructor_routine(video30, Path(tmp) / "routines", models[0])
        for model in models:
            result["models"][model] = run_model(model, frames, video30, args.seconds, log, instructor)
    log("group mode: 1 to 4 people side by side, one interpreter thread, at 15 fps")
    result["group"] = group_bench(models, frames)
    log("joint angles of the two CPU models on ../shared/media")
    result["angle_agreement"] = angle_agreement(shared)
    log("bus, codecs and scorer")
    result["bus"] = bus_bench()
    result["wake_floor"] = wake_floor()
    result.update(scoring_bench())
    log("the Edge TPU's child process: its cost per frame")
    result["edge_child"] = edge_child_cost(frames)
    log("this CPU against a Raspberry Pi's (sysbench, one thread)")
    result["sysbench_events_per_s"] = sysbench_single_thread()
    first = result["models"][models[0]]
    result["pipeline_ratio"] = first["pipeline_ratio"]
    result["isolation_ratio"] = first.get("isolation_ratio")
    if args.write:
        from common.cli.benchdoc import write_markdown
        write_markdown(result, Path(args.write), " ".join(["silvergym", "bench", *sys.argv[2:]]))
        log(f"wrote {args.write}")
    if not args.json:
        from common.cli.benchdoc import table
        print(table(result))
    print(json.dumps(result, allow_nan=False))
    return 0
