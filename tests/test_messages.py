"""Tier 1: the message contract. Anything that is not a valid message raises MalformedMessage only."""
import dataclasses

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.bus import messages
from common.bus.messages import MalformedMessage, decode, encode


def _pose(**kw):
    base = dict(seq=3, t_capture_ns=123, frame_id=7, width=640, height=480, model="m", backend="cpu",
                layout="coco17", keypoints=[[1.0, 2.0, 0.5]] * 17, latency_ms=4.5)
    return messages.Pose(**{**base, **kw})


def test_roundtrip_every_type():
    samples = [
        _pose(),
        messages.Score(seq=1, t_capture_ns=2, frame_id=3, session_id="s", routine="squat",
                       joint_status={"left_knee": "correct"}, joint_error_deg={"left_knee": 3.5}, verdict="correct",
                       reps=2, score=88.5, progress=0.3),
        messages.Session(seq=1, t_capture_ns=2, session_id="s", event="end", routine="squat", participant="kim",
                         started_unix=1.5, summary={"score": 90.0}),
        messages.Alert(seq=1, t_capture_ns=2, alert_id="a", session_id="s", kind="fall", detail="d", unix=3.0),
        messages.Health(seq=1, t_capture_ns=2, service="camera", fps=30.0, latency_p50_ms=1.0,
                        latency_p95_ms=2.0, dropped=0, malformed=0),
        messages.Control(seq=1, t_capture_ns=2, command="start"),
    ]
    for msg in samples:
        assert decode(msg.TOPIC, encode(msg)) == msg


def test_frame_pixels_travel_beside_the_header():
    pixels = np.arange(4 * 3 * 3, dtype=np.uint8).reshape(4, 3, 3)
    frame = messages.Frame(seq=0, t_capture_ns=1, frame_id=0, width=3, height=4, pixels=pixels)
    header = encode(frame)
    assert len(header) < 100  # no pixels inside msgpack
    back = decode("frame", header, pixels.tobytes())
    assert np.array_equal(back.pixels, pixels)


def _body(msg, **changes):
    body = msgpack.unpackb(encode(msg))
    body.update(changes)
    return body


@pytest.mark.parametrize("data, reason", [
    (b"\xc1\xff garbage", "not msgpack"),
    (msgpack.packb([1, 2, 3]), "expected a map"),
    (msgpack.packb({k: v for k, v in _body(_pose()).items() if k != "keypoints"}), "missing field 'keypoints'"),
    (msgpack.packb(_body(_pose(), v=99)), "schema version 99"),
    (msgpack.packb(_body(_pose(), seq="three")), "'seq' should be an integer"),
    (msgpack.packb(_body(_pose(), keypoints=b"x" * (messages.MAX_HEADER_BYTES + 1))), "byte limit"),
])
def test_malformed_is_named(data, reason):
    with pytest.raises(MalformedMessage, match=reason):
        decode("pose", data)


ROW = [1.0, 2.0, 0.5]


@pytest.mark.parametrize("field, value", [
    ("keypoints", [ROW] * 16),  # one keypoint short
    ("keypoints", [ROW] * 16 + [[1.0, 2.0]]),  # ragged
    ("keypoints", [ROW] * 16 + [[1.0, 2.0, [0.5]]]),  # nested deeper
    ("keypoints", [ROW] * 16 + [[1.0, "2", 0.5]]),  # text
    ("keypoints", [ROW] * 16 + [[1.0, None, 0.5]]),
    ("keypoints", [ROW] * 16 + [[1.0, float("nan"), 0.5]]),
    ("keypoints", [ROW] * 16 + [[1.0, float("inf"), 0.5]]),
    ("keypoints", [[ROW]] * 17),
    ("z", [1.0] * 16),
    ("z", [1.0] * 16 + ["x"]),
    ("world", [[0.1, 0.2, 0.3]] * 16 + [[0.1, 0.2, 11.0]]),  # farther than a body reaches
    ("world", [[0.1, 0.2, 0.3]] * 16 + [[0.1, float("-inf"), 0.3]]),
])
def test_a_pose_with_a_bad_number_anywhere_is_malformed(field, value):
    with pytest.raises(MalformedMessage, match=f"pose: {field}"):
        decode("pose", msgpack.packb(_body(_pose(), **{field: value})))


def test_a_pose_with_integer_or_mixed_numbers_decodes():
    kps = [[100, 200, 1]] * 8 + [[100.5, 200, 0.9]] * 9
    assert decode("pose", encode(_pose(keypoints=kps, z=[0] * 17, world=[[0, -1, 0.5]] * 17))).keypoints == kps


def test_unknown_fields_are_ignored_for_forward_compatibility():
    body = _body(_pose(), added_in_a_later_release=1)
    assert decode("pose", msgpack.packb(body)) == _pose()


def test_frame_with_wrong_pixel_count_is_malformed():
    frame = messages.Frame(seq=0, t_capture_ns=1, frame_id=0, width=3, height=4)
    with pytest.raises(MalformedMessage, match="pixel bytes"):
        decode("frame", encode(frame), b"\x00" * 5)
    with pytest.raises(MalformedMessage, match="pixel part missing"):
        decode("frame", encode(frame), None)


@settings(max_examples=300, deadline=None)
@given(topic=st.sampled_from(sorted(messages.MESSAGE_TYPES)), data=st.binary(max_size=512))
def test_fuzzed_bytes_never_raise_anything_else(topic, data):
    try:
        decode(topic, data, b"")
    except MalformedMessage:
        pass


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["v", "seq", "t_capture_ns", "frame_id", "width", "height", "model",
                                        "backend", "layout", "keypoints", "z"]),
                       st.one_of(st.integers(-2**63, 2**63 - 1), st.text(max_size=5), st.lists(st.integers(-9, 9), max_size=3),
                                 st.none(), st.floats(allow_nan=False))))
def test_fuzzed_maps_never_raise_anything_else(body):
    try:
        decode("pose", msgpack.packb(body))
    except MalformedMessage:
        pass


def test_inference_rounds_the_models_numbers_as_python_rounds_each():
    """[perf] inference rounds a pose's numbers in one array pass; the message carries the values
    round(float(v), n) gives, for the float32 numbers the models return."""
    from services.inference import rounded

    rng = np.random.default_rng(0)
    for decimals, span in ((2, 1000.0), (4, 2.0)):
        values = rng.uniform(-span, span, (20000, 3)).astype(np.float32)
        assert rounded(values, decimals) == [[round(float(v), decimals) for v in row] for row in values]
    assert rounded(None, 2) == [] and rounded(np.zeros((0, 3), np.float32), 2) == []


@pytest.mark.parametrize("framing", [
    {"partly_in_view": 1.5, "head_out": 0, "feet_out": 0, "side_out": 0, "advice": ""},
    {"partly_in_view": 0.2, "head_out": 0.2, "feet_out": 0, "side_out": 0, "advice": "<b>buy now</b>"},
    {"partly_in_view": "all", "advice": ""},
    ["not", "a", "map"],
])
def test_a_session_summarys_framing_is_checked_at_decode(framing):
    good = {"partly_in_view": 0.43, "head_out": 0.43, "feet_out": 0.0, "side_out": 0.0, "advice": "view.low_or_close"}
    end = messages.Session(seq=1, t_capture_ns=1, session_id="s", event="end", routine="squat", participant="p",
                           started_unix=0.0, summary={"score": 50.0, "reps": 3, "framing": good})
    assert decode("session", encode(end)).summary["framing"] == good
    with pytest.raises(MalformedMessage, match="framing"):
        decode("session", msgpack.packb(_body(end, summary={"score": 50.0, "reps": 3, "framing": framing})))


def test_a_summary_holds_its_alerts_wall_clock_times_checked_as_times():
    """A fall inside a session: the summary carries each alert's time (about 1.8e9 s since 1970).
    It is a time, checked as one (1970 to 2100), while every amount keeps its 1e6 bound."""
    now = 1_796_000_000.25  # 2026-12
    summary = {"score": 71.0, "reps": 3, "joints": {"left_knee": 0.8}, "alerts": [{"kind": "fall", "unix": now}]}
    end = messages.Session(seq=1, t_capture_ns=1, session_id="s", event="end", routine="squat", participant="p",
                           started_unix=now - 60, summary=summary)
    assert decode("session", encode(end)).summary["alerts"] == [{"kind": "fall", "unix": now}]
    for bad in ({"alerts": [{"kind": "fall", "unix": 2.7e11}]},  # no clock's date
                {"alerts": [{"kind": "fall", "unix": -5.0}]},
                {"reps": 3, "frames": 2e6},  # an amount is still bounded by 1e6
                {"timing": {"mean_lag_s": now}}):  # seconds that are not a time key stay amounts
        with pytest.raises(MalformedMessage, match="summary numbers"):
            decode("session", msgpack.packb(_body(end, summary=bad)))
    with pytest.raises(MalformedMessage, match="started_unix"):
        decode("session", msgpack.packb(_body(end, started_unix=-1.0)))
    alert = messages.Alert(seq=1, t_capture_ns=2, alert_id="a", session_id="s", kind="fall", detail="d", unix=now)
    assert decode("alert", encode(alert)).unix == now
    with pytest.raises(MalformedMessage, match="unix"):
        decode("alert", encode(dataclasses.replace(alert, unix=2.7e11)))
