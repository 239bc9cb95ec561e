"""Tier 2: real ZeroMQ sockets on ipc and free tcp ports."""
import time

import numpy as np
import pytest
import zmq

from common.bus import messages
from common.bus.sockets import Publisher, Subscriber
from common.mosquitto import free_port
from tests.conftest import wait_for


def endpoints_for(kind, runtime_dir):
    if kind == "ipc":
        return {s: f"ipc://{runtime_dir}/{s}.sock" for s in ("camera", "inference", "scoring", "renderer", "uplink")}
    return {s: f"tcp://127.0.0.1:{free_port()}" for s in ("camera", "inference", "scoring", "renderer", "uplink")}


def frame(pub, i, w=64, h=48):
    pixels = np.full((h, w, 3), i % 256, dtype=np.uint8)
    return messages.Frame(seq=pub.next_seq("frame"), t_capture_ns=i, frame_id=i, width=w, height=h, pixels=pixels)


def pose(pub, i):
    return messages.Pose(seq=pub.next_seq("pose"), t_capture_ns=i, frame_id=i, width=640, height=480, model="m",
                         backend="cpu", layout="coco17", keypoints=[[float(i), 0.0, 0.9]] * 17)


def connected(pub, sub, make):
    """Publish until the subscriber hears something (ZeroMQ's slow joiner), then drain."""
    got = []

    def probe():
        pub.publish(make())
        got.extend(sub.receive(timeout_ms=20))
        return got
    wait_for(probe, 5, what="subscription to reach the publisher")
    while sub.receive(timeout_ms=50):
        pass
    sub.dropped = 0


@pytest.mark.parametrize("kind", ["ipc", "tcp"])
def test_a_slow_consumer_gets_the_newest_frame_and_every_skip_is_counted(zctx, runtime_dir, kind):
    eps = endpoints_for(kind, runtime_dir)
    pub = Publisher(zctx, eps["camera"], latest_only=True)
    sub = Subscriber(zctx, eps, ["frame"])
    try:
        connected(pub, sub, lambda: frame(pub, 0))
        last_seen = pub._seq["frame"]
        for i in range(200):  # 200 frames at ~500 fps while the consumer is busy elsewhere
            pub.publish(frame(pub, 1000 + i))
            time.sleep(0.002)
        newest = 1000 + 199
        got = wait_for(lambda: [m for m in sub.receive(timeout_ms=50) if m.frame_id == newest], 5,
                       what="the newest frame of the burst")
        assert np.all(got[-1].pixels == newest % 256)
        assert not sub.receive(timeout_ms=100), "older frames were still queued behind the newest"
        # Every frame the consumer did not see is counted as dropped.
        assert sub.dropped == pub._seq["frame"] - last_seen - 1
    finally:
        sub.close()
        pub.close()


def test_poses_are_lossless_and_in_order(zctx, runtime_dir):
    eps = endpoints_for("ipc", runtime_dir)
    pub = Publisher(zctx, eps["inference"])
    sub = Subscriber(zctx, eps, ["pose"])
    try:
        connected(pub, sub, lambda: pose(pub, 10**6))  # a probe outside 0..499
        for i in range(500):
            pub.publish(pose(pub, i))
        got = []
        wait_for(lambda: got.extend(sub.receive(timeout_ms=50)) or len(got) >= 500, 10, what="500 poses")
        assert [p.frame_id for p in got] == list(range(500))
        assert sub.dropped == 0 and sub.malformed == 0
    finally:
        sub.close()
        pub.close()


def test_malformed_messages_are_dropped_and_counted(zctx, runtime_dir):
    eps = endpoints_for("ipc", runtime_dir)
    rogue = zctx.socket(zmq.PUB)
    rogue.bind(eps["inference"])
    sub = Subscriber(zctx, eps, ["pose"])
    valid = messages.Pose(seq=0, t_capture_ns=1, frame_id=1, width=1, height=1, model="m", backend="cpu",
                          layout="coco17", keypoints=[])
    wire = bytes(messages.to_wire(valid))
    try:
        wait_for(lambda: rogue.send(wire) or sub.receive(timeout_ms=20), 5, what="the subscription")
        before = sub.malformed
        header_at = len(b"pose") + 1 + 4
        bad = [
            b"pose\x00\xff\xfe",  # truncated before the length
            wire[:-3],  # truncated header
            wire + b"junk",  # bytes after the header
            b"pose\x00" + (10**9).to_bytes(4, "little"),  # absurd header length
            wire[:header_at] + b"\xc1" * (len(wire) - header_at),  # not msgpack
            messages.to_wire(valid)[:header_at] + wire[header_at:].replace(b"\xa1v\x01", b"\xa1v\x07"),  # version 7
        ]
        for data in bad:
            rogue.send(data)
        rogue.send_multipart([wire, b"second part"])
        rogue.send(wire)
        got = []
        wait_for(lambda: got.extend(sub.receive(timeout_ms=50)) or sub.malformed - before >= len(bad) + 1, 5,
                 what="every bad message counted")
        assert sub.malformed - before == len(bad) + 1
        wait_for(lambda: got or got.extend(sub.receive(timeout_ms=50)) or got, 5, what="the valid message after them")
        assert got[-1] == valid
    finally:
        sub.close()
        rogue.close()


def test_a_restarted_publisher_is_heard_again(zctx, runtime_dir):
    eps = endpoints_for("ipc", runtime_dir)
    sub = Subscriber(zctx, eps, ["pose"])
    pub = Publisher(zctx, eps["inference"])
    try:
        connected(pub, sub, lambda: pose(pub, 1))
        pub.close()
        pub = Publisher(zctx, eps["inference"])  # the service came back (same ipc path)
        got = []
        wait_for(lambda: pub.publish(pose(pub, 2)) or got.extend(sub.receive(timeout_ms=20)) or got, 5,
                 what="messages from the restarted publisher")
        assert got[-1].frame_id == 2
    finally:
        sub.close()
        pub.close()


def test_bench_bus_and_codec_figures_are_measured():
    """`silvergym bench` part 5 on a small count: every figure present (no timing asserted)."""
    from common.cli.bench import bus_bench

    result = bus_bench(n=30)
    for kind in ("ipc", "tcp"):
        # Latest-only frames may be dropped at the publisher (seen: 2 of 30 with a model loaded in
        # the same process); the figure must say so, and most must arrive.
        assert result[kind]["received"] + result[kind]["dropped_latest_only"] == 30
        assert result[kind]["received"] >= 20 and result[kind]["frame_us_p50"] > 0
    assert set(result["codec_us"]) >= {"frame_one_part_encode", "frame_msgpack_blob_decode", "pose_decode"}
    # Inference's copy out of a real ring (the reader gave back the written picture, or it raises).
    assert set(result["ring_copy_us"]) == {"640x480", "1280x720"} and all(v > 0 for v in result["ring_copy_us"].values())


def test_sequence_leaps_and_restarts_do_not_overflow_the_dropped_counter(zctx, runtime_dir):
    """[reliability] finding 3: sequence numbers 0, 2**62, 0, 2**62 from one sender (a stray or
    restarted publisher) count no absurd loss, so the next Health still encodes."""
    eps = endpoints_for("ipc", runtime_dir)
    rogue = zctx.socket(zmq.PUB)
    rogue.bind(eps["inference"])
    sub = Subscriber(zctx, eps, ["pose"])

    def pose_with(seq):
        return bytes(messages.to_wire(messages.Pose(seq=seq, t_capture_ns=1, frame_id=1, width=1, height=1, model="m",
                                                    backend="cpu", layout="coco17", keypoints=[])))
    try:
        wait_for(lambda: rogue.send(pose_with(0)) or sub.receive(timeout_ms=20), 5, what="the subscription")
        for seq in (0, 2**62, 0, 2**62, 5, 7):
            rogue.send(pose_with(seq))
        got = []
        wait_for(lambda: got.extend(sub.receive(timeout_ms=50)) or len(got) >= 6, 5, what="six poses")
        assert sub.dropped == 1  # only 5 -> 7 is a plausible gap
        health = messages.Health(seq=1, t_capture_ns=1, service="scoring", fps=0.0, latency_p50_ms=0.0,
                                 latency_p95_ms=0.0, dropped=sub.dropped, malformed=sub.malformed)
        assert messages.from_wire(messages.to_wire(health)).dropped == 1
    finally:
        sub.close()
        rogue.close(linger=0)


def test_a_figure_bench_cannot_measure_is_null_and_said_in_words():
    """[perf] (in part): without ../shared the drawn frames hold no person, so capture->Score
    cannot be measured; that was NaN (not JSON). Now null in the JSON and words in the table."""
    import json

    from common.cli.bench import _pct
    from common.cli.benchdoc import _verdict

    assert _pct([], 50) is None and _pct([1.0, 3.0], 50) == 2.0
    assert json.dumps({"p95": _pct([], 95)}, allow_nan=False) == '{"p95": null}'
    assert _verdict(None, 20.0, False) == "n/a"
