"""Tier 3: the real service processes over real ipc sockets, a video file as the camera."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest
import zmq

from common.bus import messages
from models import catalog
from tests.conftest import wait_for
from tests.graph import BusTap, Observer, core_model, graph_config

SERVICES = ("camera", "inference", "scoring", "renderer", "uplink")


@pytest.fixture
def graph(tmp_path, processes, person_clip, request):
    procs = processes(graph_config(tmp_path, person_clip, model=core_model()))
    tap = BusTap(procs.config_path)  # every message any service publishes, through the product's own check
    for name in SERVICES:
        procs.start(name)
    observer = Observer(procs.config_path)
    yield procs, observer
    observer.close()
    tap.close()
    if request.node.name != "test_bad_messages_at_every_endpoint_are_dropped_and_counted":  # that one sends garbage
        assert sum(tap.counts.values()) > 0, "the bus tap heard nothing"
        assert tap.refused == [], f"messages the services published fail the product's own check: {tap.refused[:5]}"


def scores_flowing(obs: Observer, after: int = 0):
    obs.pump()
    return obs.counts["score"] > after


def test_poses_reach_scoring_and_frames_reach_the_renderer(graph):
    procs, obs = graph
    wait_for(lambda: scores_flowing(obs, 20), 40, what="scores computed from the video's poses")
    wait_for(lambda: obs.pump().health.get("renderer") and obs.health["renderer"].state not in ("camera_lost",),
             15, what="the renderer drawing camera frames")
    assert obs.last["pose"].backend == "cpu" and obs.last["pose"].model == core_model()
    assert obs.last["score"].session_id, "scoring started a session when the person appeared"
    wait_for(lambda: obs.pump().health.get("inference") and obs.health["inference"].fps > 5, 15,
             what="inference health with a frame rate")
    for name, proc in procs.procs.items():
        assert proc.poll() is None, f"{name} died:\n{procs.log_text(name)}"


def test_killing_inference_alone_heals_within_5_seconds(graph):
    procs, obs = graph
    wait_for(lambda: scores_flowing(obs, 10), 40, what="scores before the kill")
    pids = {n: p.pid for n, p in procs.procs.items() if n != "inference"}
    os.kill(procs.procs["inference"].pid, signal.SIGKILL)
    procs.procs["inference"].wait(timeout=5)
    obs.pump(200)
    restarted_at = time.monotonic()
    procs.start("inference")  # as systemd would
    seen = obs.counts["pose"]
    wait_for(lambda: obs.pump().counts["pose"] > seen + 3, 5, what="poses from the restarted inference service")
    healed_s = time.monotonic() - restarted_at
    before = obs.counts["score"]
    wait_for(lambda: scores_flowing(obs, before + 3), 5, what="scoring to use the new poses")
    print(f"healed in {healed_s:.2f} s")
    assert healed_s < 5.0
    for name, pid in pids.items():
        assert procs.procs[name].pid == pid and procs.procs[name].poll() is None, f"{name} was disturbed"


def pose_rate(obs: Observer, seconds: float) -> float:
    obs.pump(0)
    start_count, start = obs.counts["pose"], time.monotonic()
    while time.monotonic() - start < seconds:
        obs.pump(100)
    return (obs.counts["pose"] - start_count) / (time.monotonic() - start)


def test_a_stalled_renderer_does_not_slow_inference(graph):
    procs, obs = graph
    wait_for(lambda: scores_flowing(obs, 10), 40, what="the graph running")
    normal = pose_rate(obs, 4.0)
    procs.stop("renderer")
    procs.start("renderer", "renderer.stall_ms=200")
    wait_for(lambda: obs.pump().health.get("renderer") and obs.health["renderer"].latency_p50_ms > 150, 20,
             what="the renderer to be stalled (200 ms per draw)")
    stalled = pose_rate(obs, 4.0)
    ratio = stalled / normal
    print(f"pose rate normal {normal:.1f}/s, renderer stalled {stalled:.1f}/s, ratio {ratio:.2f}")
    assert ratio > 0.8, f"inference slowed to {ratio:.2f} of its rate when the renderer stalled"


ROGUE_TOPICS = {
    "camera": ["frame", "health"],
    "inference": ["pose", "health"],
    "scoring": ["score", "session", "alert", "health"],
    "renderer": ["control", "health"],
    "uplink": ["delivery", "health"],
}
# Who counts a bad message from each publisher (its subscribers' Health.malformed).
CONSUMERS = {"camera": ["inference", "renderer"], "inference": ["scoring", "renderer"],
             "scoring": ["renderer", "uplink"], "renderer": ["scoring"], "uplink": ["renderer"]}


def garbage_for(topic: str) -> list[bytes]:
    wrong_type = messages.Pose(seq=0, t_capture_ns=1, frame_id=0, width=1, height=1, model="m", backend="cpu",
                               layout="coco17", keypoints=[]) if topic == "health" else \
        messages.Health(seq=0, t_capture_ns=1, service="x", fps=0, latency_p50_ms=0, latency_p95_ms=0,
                        dropped=0, malformed=0)
    header = messages.encode(wrong_type)
    t = topic.encode() + b"\x00"
    size = len(header).to_bytes(4, "little")
    return [
        t + b"\xff\xff",  # truncated
        t + size + b"\xc1" * len(header),  # not msgpack
        t + size + header.replace(b"\xa1v\x01", b"\xa1v\x09"),  # unknown schema version
        t + (300 * 1024).to_bytes(4, "little") + b"\x00" * (300 * 1024),  # oversized header
        t + size + header,  # another message type's fields: required ones missing
    ]


def valid_message(topic: str):
    """One valid message of `topic`, to mutate."""
    base = dict(seq=5, t_capture_ns=1)
    return {
        "frame": messages.Frame(**base, frame_id=1, width=8, height=6, pixels=np.zeros((6, 8, 3), np.uint8)),
        "pose": messages.Pose(**base, frame_id=1, width=640, height=480, model="m", backend="cpu", layout="coco17",
                              keypoints=[[100.0, 200.0, 0.9]] * 17),
        "score": messages.Score(**base, frame_id=1, session_id="s", routine="arm_raise",
                                joint_status={"left_elbow": "wrong"}, joint_error_deg={"left_elbow": 3.0},
                                verdict="wrong", reps=1, score=50.0, progress=0.5),
        "session": messages.Session(**base, session_id="s", event="end", routine="arm_raise", participant="p",
                                    started_unix=1.0, summary={"score": 50.0, "reps": 2, "joints": {"a": 0.5}}),
        "alert": messages.Alert(**base, alert_id="a", session_id="s", kind="fall", detail="d", unix=1.0),
        "control": messages.Control(**base, command="participant", participant="x"),
        "delivery": messages.Delivery(**base, msg_id="a1", result="notified"),
        "health": messages.Health(**base, service="camera", fps=1.0, latency_p50_ms=1.0, latency_p95_ms=1.0,
                                  dropped=0, malformed=0),
    }[topic]


def mutations(topic: str, rng, count: int = 25) -> list[bytes]:
    """Random byte flips, truncations and splices of a valid message (a small mutation fuzzer)."""
    wire = bytes(messages.to_wire(valid_message(topic)))
    start = len(topic) + 1
    out = []
    for _ in range(count):
        data = bytearray(wire)
        kind = rng.integers(3)
        if kind == 0:
            for i in rng.integers(start, len(data), size=rng.integers(1, 6)):
                data[i] = int(rng.integers(256))
        elif kind == 1:
            data = data[: int(rng.integers(start, len(data)))]
        else:
            data += bytes(rng.integers(0, 256, size=int(rng.integers(1, 64)), dtype=np.uint8))
        out.append(bytes(data))
    return out


def test_bad_messages_at_every_endpoint_are_dropped_and_counted(graph):
    procs, obs = graph
    wait_for(lambda: scores_flowing(obs, 10), 40, what="the graph running")
    ctx = zmq.Context()
    rng = np.random.default_rng(2026)
    try:
        for publisher, topics in ROGUE_TOPICS.items():
            others = {n: procs.procs[n].pid for n in SERVICES if n != publisher}
            before = {c: obs.pump().health[c].malformed for c in CONSUMERS[publisher] if c in obs.health}
            procs.stop(publisher)
            rogue = ctx.socket(zmq.PUB)
            rogue.setsockopt(zmq.LINGER, 0)
            rogue.bind(obs.cfg.bus.endpoint(publisher))

            def counted():
                for topic in topics:
                    for data in garbage_for(topic) + mutations(topic, rng):
                        rogue.send(data)
                obs.pump(100)
                return all(obs.health.get(c) and obs.health[c].malformed > before.get(c, 0)
                           for c in CONSUMERS[publisher])
            wait_for(counted, 20, interval_s=0.2, what=f"bad messages from {publisher}'s endpoint to be counted")
            rogue.close()
            heard = obs.counts[f"health:{publisher}"]
            procs.start(publisher)
            for name, pid in others.items():
                assert procs.procs[name].pid == pid and procs.procs[name].poll() is None, \
                    f"{name} died on bad input from {publisher}'s endpoint:\n{procs.log_text(name)}"
            wait_for(lambda: obs.pump().counts[f"health:{publisher}"] > heard, 20, what=f"{publisher} back")
        before = obs.counts["score"]
        wait_for(lambda: scores_flowing(obs, before + 5), 30, what="scores again after all that")
    finally:
        ctx.destroy(linger=0)


def test_camera_lost_is_shown_and_recovers_without_restarting_others(tmp_path, processes, person_clip):
    """Injected: the camera source is missing at start, then appears. Survives: every process.
    With the Edge TPU model's files here, also: no Coral -> its family's CPU model, said in Health."""
    try:
        catalog.paths("movenet-lightning-edgetpu")
        model = "movenet-lightning-edgetpu" if core_model() == "movenet-lightning" else core_model()
    except catalog.ModelError:
        model = core_model()  # the camera part still runs; tests/test_models.py says why the TPU part skips
    clip = person_clip
    later = tmp_path / "camera" / "clip.mp4"
    procs = processes(graph_config(tmp_path, later, model=model))
    for name in SERVICES:
        procs.start(name)
    obs = Observer(procs.config_path)
    try:
        wait_for(lambda: obs.pump().health.get("camera") and obs.health["camera"].state == "lost", 30,
                 what="the camera reported lost")
        wait_for(lambda: obs.pump().health.get("renderer") and obs.health["renderer"].state == "camera_lost", 20,
                 what="the TV showing 'camera lost'")
        # No Coral here: the Edge TPU model runs on the CPU model of its family, and Health says so.
        wait_for(lambda: obs.pump().health.get("inference"), 20, what="inference health")
        assert obs.health["inference"].backend == "cpu"
        if model.endswith("-edgetpu"):
            assert "libedgetpu built for this TFLite runtime" in obs.health["inference"].detail.get("tpu_problem", "")
        pids = {n: p.pid for n, p in procs.procs.items()}
        later.parent.mkdir()
        import shutil
        shutil.copy(clip, later)
        wait_for(lambda: obs.pump().health.get("camera") and obs.health["camera"].state == "ok", 30,
                 what="the camera back")
        wait_for(lambda: scores_flowing(obs, 5), 30, what="scores once the camera is back")
        wait_for(lambda: obs.pump().health["renderer"].state != "camera_lost", 20, what="the TV leaving 'camera lost'")
        assert {n: p.pid for n, p in procs.procs.items()} == pids
    finally:
        obs.close()


def test_no_camera_at_boot_is_waited_for_not_an_exit(tmp_path, processes):
    """Injected: camera.source = "auto" and no /dev/video* (as on this machine, and on a box whose
    webcam is not plugged in yet). Survives: the camera service keeps running and says "lost" to
    the TV instead of exiting 2, which systemd would never restart (RestartPreventExitStatus)."""
    from common.media import first_camera

    if first_camera():
        pytest.skip(f"this machine has a camera ({first_camera()}): the test needs none")
    procs = processes(graph_config(tmp_path, "auto"))
    camera = procs.start("camera")
    obs = Observer(procs.config_path)
    try:
        wait_for(lambda: obs.pump().health.get("camera") and obs.health["camera"].state == "lost", 20,
                 what="the camera service reporting 'lost' while it waits")
        assert camera.poll() is None, "the camera service exited instead of waiting for a camera"
        assert "plug in the USB webcam; waiting for it" in procs.logs["camera"].read_text()
    finally:
        obs.close()


def test_a_restarted_renderer_learns_the_running_session(graph):
    """Injected: the renderer restarts mid-session (it missed the session's start). Survives: the
    TV goes straight back to the exercise screen, because scoring repeats a running session's start."""
    procs, obs = graph
    wait_for(lambda: scores_flowing(obs, 10), 40, what="a session running")
    procs.stop("renderer")
    heard = obs.counts["health:renderer"]
    procs.start("renderer")
    wait_for(lambda: obs.pump().counts["health:renderer"] > heard, 20, what="the new renderer")
    wait_for(lambda: obs.pump().health["renderer"].state in ("exercise", "looking"), 15,
             what="the restarted renderer showing the running session")
