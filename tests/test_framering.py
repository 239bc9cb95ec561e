"""Camera frames in shared memory (common/bus/framering.py): the ring itself (tier 1), then frames
through real ZeroMQ sockets with their pixels in the ring (tier 2). Frames are made in the test."""
from __future__ import annotations

import os
import stat

import cv2
import numpy as np
import pytest

from common.bus import messages
from common.bus.framering import SLOTS, FrameRingReader, FrameRingWriter, ring_path
from common.bus.sockets import Publisher, Subscriber
from tests.conftest import wait_for
from tests.test_bus import endpoints_for


def picture(i: int, w: int = 64, h: int = 48) -> np.ndarray:
    rng = np.random.default_rng(i)
    return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def ring_file(tmp_path):
    path = str(tmp_path / "frames.ring")
    yield path
    if os.path.exists(path):
        os.unlink(path)


def test_a_frame_is_read_in_place_until_its_slot_comes_round_again(ring_file):
    writer, reader = FrameRingWriter(ring_file), FrameRingReader(ring_file)
    try:
        slots = [writer.commit(picture(seq), seq) for seq in range(3)]
        assert stat.S_IMODE(os.stat(ring_file).st_mode) == 0o600  # the service user's only
        for seq, slot in enumerate(slots):
            assert np.array_equal(reader.pixels(writer.ring_id, slot, seq), picture(seq))
        assert reader.pixels(writer.ring_id, slots[0], 0) is not reader.pixels(writer.ring_id, slots[0], 0)
        held = reader.pixels(writer.ring_id, slots[0], 0)
        for seq in range(3, SLOTS + 1):  # round the ring: slot 0 now holds frame SLOTS
            writer.commit(picture(seq), seq)
        assert not reader.holds(slots[0], 0)  # what a reader asks after using the pixels
        assert reader.pixels(writer.ring_id, slots[0], 0) is None
        assert np.array_equal(held, picture(SLOTS))  # in place: the same memory, now the new frame
        assert reader.pixels(writer.ring_id, 99, 0) is None
    finally:
        reader.close()
        writer.close(unlink=True)
    assert not os.path.exists(ring_file)


def test_a_slot_being_written_is_not_read(ring_file):
    writer, reader = FrameRingWriter(ring_file), FrameRingReader(ring_file)
    try:
        for seq in range(SLOTS):
            writer.commit(picture(seq), seq)
        view = writer.slot_view()  # slot 0 again, for frame SLOTS: frame 0 is going
        assert view.shape == (48, 64, 3)
        assert reader.pixels(writer.ring_id, 0, 0) is None and not reader.holds(0, 0)
        assert np.array_equal(reader.pixels(writer.ring_id, 1, 1), picture(1))
    finally:
        reader.close()
        writer.close(unlink=True)


def test_a_new_picture_size_makes_a_new_ring_and_old_messages_then_find_nothing(ring_file):
    writer, reader = FrameRingWriter(ring_file), FrameRingReader(ring_file)
    try:
        slot = writer.commit(picture(0), 0)
        old_id = writer.ring_id
        assert reader.pixels(old_id, slot, 0) is not None
        big = picture(1, w=80, h=60)
        slot = writer.commit(big, 1)
        assert writer.ring_id != old_id
        assert np.array_equal(reader.pixels(writer.ring_id, slot, 1), big)  # the reader maps the new ring
        assert reader.pixels(old_id, 0, 0) is None  # the old one is gone
    finally:
        reader.close()
        writer.close(unlink=True)


def test_the_camera_decodes_straight_into_the_ring(ring_file, tmp_path):
    """No copy at the camera: OpenCV writes the decoded picture into the slot it is given."""
    from common.config import CameraConfig
    from services.camera import FrameSource

    clip = str(tmp_path / "clip.avi")
    out = cv2.VideoWriter(clip, cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for i in range(4):
        out.write(picture(i))
    out.release()
    source = FrameSource(CameraConfig(source=clip, pace="unpaced"), clip)
    source.open()
    writer, reader = FrameRingWriter(ring_file), FrameRingReader(ring_file)
    try:
        first = source.read(writer.slot_view())  # no ring yet: a new array
        writer.commit(first, 0)
        into = writer.slot_view()
        second = source.read(into)
        assert second.ctypes.data == into.ctypes.data
        slot = writer.commit(second, 1)
        assert np.array_equal(reader.pixels(writer.ring_id, slot, 1), second)
    finally:
        source.close()
        reader.close()
        writer.close(unlink=True)


def test_frames_cross_the_bus_with_their_pixels_in_the_ring(zctx, runtime_dir):
    """Tier 2: a camera-like publisher on ipc, the ring beside it; a subscriber gets the pixels
    without their travelling in the message, and a frame the ring no longer holds is dropped and
    counted, never handed on."""
    eps = endpoints_for("ipc", runtime_dir)
    pub = Publisher(zctx, eps["camera"], latest_only=True)
    writer = FrameRingWriter(ring_path(eps["camera"]))
    sub = Subscriber(zctx, eps, ["frame"])

    def send(seq: int) -> messages.Frame:
        slot = writer.commit(picture(seq), seq)
        frame = messages.Frame(seq=seq, t_capture_ns=seq, frame_id=seq, width=64, height=48,
                               ring_id=writer.ring_id, ring_slot=slot)
        assert len(messages.to_wire(frame)) < 200  # a header, no pixels
        pub.publish(frame)
        return frame
    try:
        got: list = []
        seq = iter(range(10_000))
        wait_for(lambda: got.extend(sub.receive(timeout_ms=20)) or (send(next(seq)) and got), 5,
                 what="the subscription to reach the publisher")
        frame = got[-1]
        assert np.array_equal(frame.pixels, picture(frame.seq)) and sub.still_holds(frame)
        for s in range(frame.seq + 1, frame.seq + 1 + SLOTS):  # the ring goes round under the held frame
            writer.commit(picture(s), s)
        dropped = sub.dropped
        assert not sub.still_holds(frame) and sub.dropped == dropped + 1
        # A message naming a slot the ring no longer holds: dropped and counted.
        stale = messages.Frame(seq=frame.seq, t_capture_ns=0, frame_id=0, width=64, height=48,
                               ring_id=writer.ring_id, ring_slot=frame.ring_slot)
        pub.publish(stale)
        wait_for(lambda: sub.receive(timeout_ms=20) == [] and sub.dropped > dropped + 1, 5,
                 what="the stale frame to be counted as dropped")
        # Inline pixels (the simulator; tcp:// to a second box) still work on the same socket.
        pub.publish(messages.Frame(seq=20_000, t_capture_ns=0, frame_id=0, width=64, height=48, pixels=picture(7)))
        inline = []
        wait_for(lambda: inline.extend(sub.receive(timeout_ms=20)) or inline, 5, what="an inline frame")
        assert np.array_equal(inline[-1].pixels, picture(7))
    finally:
        sub.close()
        pub.close()
        writer.close(unlink=True)


def test_a_ring_that_cannot_be_read_drops_frames_with_one_clear_line(zctx, runtime_dir, caplog):
    eps = endpoints_for("ipc", runtime_dir)
    pub = Publisher(zctx, eps["camera"], latest_only=True)
    sub = Subscriber(zctx, eps, ["frame"])
    try:
        def probe():
            pub.publish(messages.Frame(seq=1, t_capture_ns=0, frame_id=0, width=64, height=48, ring_id=5, ring_slot=0))
            sub.receive(timeout_ms=20)
            return sub.dropped
        wait_for(probe, 5, what="a frame naming a missing ring to be dropped")
        assert sub.malformed == 0
        said = [r.getMessage() for r in caplog.records if "frame ring" in r.getMessage()]
        assert len(said) == 1 and "camera service" in said[0], said
        print(said[0])
    finally:
        sub.close()
        pub.close()


@pytest.mark.parametrize("change, reason", [
    ({"ring_slot": 5000}, "ring slot 5000 out of range"),
    ({"pixels": np.zeros((48, 64, 3), np.uint8)}, "both in the message and in the ring"),
])
def test_a_ring_frame_that_makes_no_sense_is_malformed(change, reason):
    frame = messages.Frame(seq=1, t_capture_ns=0, frame_id=0, width=64, height=48, ring_id=5, ring_slot=0)
    header = messages.encode(messages.Frame(**{**{f: getattr(frame, f) for f in
                                                  ("seq", "t_capture_ns", "frame_id", "width", "height",
                                                   "ring_id", "ring_slot")}, **{k: v for k, v in change.items()
                                                                                 if k != "pixels"}}))
    pixels = change["pixels"].tobytes() if "pixels" in change else b""
    with pytest.raises(messages.MalformedMessage, match=reason):
        messages.decode("frame", header, pixels)


@pytest.mark.skipif(os.geteuid() != 0, reason="a second local user needs root to stand in for it")
def test_a_planted_ring_folder_does_not_force_frames_into_the_messages(tmp_path):
    """[alerts-first] item 6: another user pre-making /dev/shm/silvergym-<uid> forced the frames
    into the messages (a RingError at every start). With the pointer the camera and the bus pass,
    the planted folder is left alone, the ring made in a fresh 0700 folder of ours, and a reader
    of the same endpoint finds it there."""
    import subprocess
    import time

    from common.bus.framering import ring_pointer

    shm = f"/dev/shm/silvergym-test-{os.getpid()}-{time.monotonic_ns()}"
    os.mkdir(shm)
    os.chmod(shm, 0o1777)
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    endpoint = f"ipc://{runtime}/camera.sock"
    path = ring_path(endpoint, shm)
    planted = os.path.dirname(path)
    try:
        made = subprocess.run(["/usr/bin/python3", "-c", f"import os; os.mkdir({planted!r}); os.chmod({planted!r}, 0o777)"],
                              user=65534, group=65534, extra_groups=[], capture_output=True, text=True, timeout=30, cwd="/")
        assert made.returncode == 0, made.stderr
        writer = FrameRingWriter(path, pointer=ring_pointer(endpoint))
        reader = FrameRingReader(path, pointer=ring_pointer(endpoint))
        read = 0
        for seq in range(1, 21):
            slot = writer.commit(picture(seq), seq)
            got = reader.pixels(writer.ring_id, slot, seq)
            read += got is not None and np.array_equal(got, picture(seq))
        folder = os.path.dirname(writer.path)
        mode = stat.S_IMODE(os.stat(folder).st_mode)
        print(f"\nplanted {planted} (uid 65534, 0777): ring made in {folder} (mode {mode:o}); "
              f"{read}/20 frames read from the ring (was 0: all in the messages)")
        assert read == 20 and folder != planted and mode == 0o700 and os.stat(folder).st_uid == os.geteuid()
        assert os.listdir(planted) == []  # nothing of ours went into the planted folder
        # A restarted camera takes the same private folder again, not a new one each time.
        writer.close()
        again = FrameRingWriter(path, pointer=ring_pointer(endpoint))
        again.commit(picture(1), 1)
        assert os.path.dirname(again.path) == folder
        again.close(unlink=True)
        reader.close()
    finally:
        subprocess.run(["rm", "-rf", shm], check=False)
