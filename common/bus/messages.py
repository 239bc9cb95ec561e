"""The bus contract: one frozen dataclass per message, one msgpack encode/decode pair.

Versioning rule (docs/messages.md): SCHEMA_VERSION changes only when a field changes meaning or
is removed. Adding a field with a default does not bump it; decoders ignore fields they do not
know. A field name is never reused for something else.

Wire format (one ZeroMQ message part, so that ZMQ_CONFLATE can keep only the newest):
    topic (ASCII) | 0x00 | header length (uint32, little-endian) | msgpack header | raw pixels (frames only)
The topic comes first because SUB sockets filter on a message's leading bytes. Pixels are never
inside msgpack: the receiver views them in place (no copy); the sender copies them once. On one
machine the camera's frames carry no pixels at all: they are in its shared-memory ring
(common/bus/framering.py), named by `ring_id` and `ring_slot`, and the Subscriber reads them there.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgpack
import numpy as np

from common.coach.framing import ADVICE
from common.program_results import CORRECTION_KEY
from common.coach.keypoints import LAYOUTS
from common.timeline import MAX_SECONDS

SCHEMA_VERSION = 1


class MalformedMessage(ValueError):
    """Bytes that are not a valid message of the expected type; the caller drops and counts it."""


@dataclass(frozen=True)
class Frame:
    """One camera image. `pixels` is sent as its own zero-copy part, not in the header."""

    TOPIC: ClassVar[str] = "frame"
    seq: int
    t_capture_ns: int  # time.monotonic_ns() when the image was grabbed
    frame_id: int
    width: int
    height: int
    source: str = ""  # "camera:0", "video:clip.mp4", "image:x.jpg", "sim"
    pixels: np.ndarray | None = field(default=None, compare=False, repr=False)
    # Added (add-only): where the pixels are when they do not travel in the message: the camera's
    # frame ring in shared memory (common/bus/framering.py) and its slot. 0 = in the message.
    ring_id: int = 0
    ring_slot: int = 0
    # Added ([score]): the picture's time in its video file, seconds from the file's first picture
    # as `silvergym score` reads it (index / the file's fps), while a recorded participant's session
    # plays it; -1 otherwise (a camera, a held picture). The model reads a recording on this clock,
    # so its readings are those of `score` whatever the wall clock did (the tracker's filters, fed
    # the capture clock's nanosecond rounding, turned one clip's score between 72.1 and 82.8).
    file_t_s: float = -1.0


@dataclass(frozen=True)
class Pose:
    """Keypoints of the participant in input-image pixels, in the model's native layout and order."""

    TOPIC: ClassVar[str] = "pose"
    seq: int
    t_capture_ns: int
    frame_id: int
    width: int
    height: int
    model: str
    backend: str  # "cpu" | "edgetpu" | "sim"
    layout: str  # a key of common.coach.keypoints.LAYOUTS
    keypoints: list  # [[x, y, score], ...] native order; [] when nobody is in view
    latency_ms: float = 0.0  # inference time for this frame
    z: list = field(default_factory=list)  # the model's image depth per keypoint (pixels); not for angles
    # Added in schema 1 (add-only): the model's world landmarks [[x, y, z], ...] in metres,
    # hip-centred, native order; [] for models without them (MoveNet). Angles come from these.
    world: list = field(default_factory=list)
    # Added (add-only): group mode's spot of this person (1 = leftmost as the class started); 0 in
    # one-person mode, and for the empty Pose that says nobody is in view.
    spot: int = 0
    # Added (add-only): the follower's number of this person (1 and up, the same person for as
    # long as the model follows them; scoring's ClassBook makes members of the people exercising);
    # 0 for the empty Pose that says nobody is in view.
    track: int = 0
    # Added (add-only): how many Poses this frame has (everyone followed; 0 with the empty Pose),
    # so a reader knows when it has the whole frame's people.
    people: int = 0


@dataclass(frozen=True)
class Score:
    """Per-frame verdict of the scoring service."""

    TOPIC: ClassVar[str] = "score"
    seq: int
    t_capture_ns: int
    frame_id: int
    session_id: str
    routine: str
    joint_status: dict  # joint -> "correct" | "near" | "wrong" | "none"
    joint_error_deg: dict  # joint -> signed angle error (participant - target), degrees
    verdict: str  # "correct" | "near" | "wrong" | "none"
    reps: int
    score: float  # running session score, 0..100
    progress: float  # 0..1 through the routine
    offset_s: float = 0.0  # estimated participant lag behind the routine (+ = behind)
    guidance: str = ""  # locale key for the one-line hint, e.g. "raise.left_shoulder"
    phase: str = ""
    # Added (add-only): seconds since the routine started when this frame was captured (negative
    # in the countdown); the second of the accuracy strip this verdict falls in.
    routine_t_s: float = 0.0
    spot: int = 0  # added: group mode's spot this verdict is for (0 in one-person mode)
    # Added: whether `score` rests on anything judged yet (no repetition of a looping routine
    # complete: False, and the TV shows a dash instead of a discouraging 0).
    scored: bool = True
    # Added ([program]): the program this frame belongs to ("" for a single routine), the current
    # part's index (0-based, -1 outside a program; `routine` is that part's routine), seconds of
    # rest left after the part (0 while not resting) and seconds into the current part (for the
    # part's stretch of the instructor's video).
    program: str = ""
    part: int = -1
    resting_s: float = 0.0
    part_t_s: float = 0.0
    track: int = 0  # added: the Pose's track this verdict is for (the renderer draws the spot on that body)
    # Added ([truth]): the session's strip as the score has judged it so far (per second from the
    # routine's start, c/n/w/-: the summary's `timeline` as it stands), sent when it changes and
    # about once a second; "" = not sent with this frame. The TV's live strip is this judgement.
    judged_strip: str = ""


@dataclass(frozen=True)
class Session:
    """Session start and end. `summary` is set on "end" (see docs/messages.md)."""

    TOPIC: ClassVar[str] = "session"
    seq: int
    t_capture_ns: int
    session_id: str
    event: str  # "start" | "end"
    routine: str
    participant: str
    started_unix: float
    summary: dict = field(default_factory=dict)
    routine_start_ns: int = 0  # monotonic time the routine starts (after the countdown)
    # Added (add-only): monotonic time the session was paused; 0 while it runs. The routine clock
    # (and the instructor's video) stands at paused_at_ns - routine_start_ns until it resumes.
    paused_at_ns: int = 0
    # Added (add-only), group mode: the participant's spot (0 in one-person mode) and the id shared
    # by the sessions of one class ("" in one-person mode).
    spot: int = 0
    class_id: str = ""
    # Added ([program]): the program this session goes through ("" for a single routine) and the
    # part it is in (0-based, -1 outside a program).
    program: str = ""
    part: int = -1


@dataclass(frozen=True)
class Alert:
    TOPIC: ClassVar[str] = "alert"
    seq: int
    t_capture_ns: int
    alert_id: str
    session_id: str
    kind: str  # "fall"
    detail: str
    unix: float
    spot: int = 0  # added: group mode's spot of the person who fell (0 in one-person mode)
    # Added (add-only), ask before calling (common/coach/checkin.py): "asking" while the TV asks
    # "괜찮으세요?" and counts down, "answered" when a wave or the remote said all right (the
    # question goes away, nobody is called), "called" when the carer is told (the alert proper).
    stage: str = "called"
    countdown_s: float = 0.0  # asking: seconds left to answer when this was sent (0-3600)
    answer: str = ""  # called: "hard_fall" | "no_answer"; answered: "wave" | "remote"; else ""
    asked_unix: float = 0.0  # when the question was put; 0 when the carer was called without one


@dataclass(frozen=True)
class Health:
    TOPIC: ClassVar[str] = "health"
    seq: int
    t_capture_ns: int
    service: str
    fps: float
    latency_p50_ms: float
    latency_p95_ms: float
    dropped: int  # messages skipped by latest-only draining or lost (sequence gaps)
    malformed: int  # messages dropped because they did not decode
    state: str = "ok"  # e.g. camera "ok" | "lost"; inference "ok" | "no_person"
    backend: str = ""  # inference: "edgetpu" | "cpu"
    detail: dict = field(default_factory=dict)


# Keys of the camera's Health detail about a video file (added; read by scoring): the recorded
# participant's video played to its end (the due time of the frame that would have come next: the
# session ends there), and how many times a looping video file started again (the summary says so).
CAMERA_VIDEO_ENDED_NS = "video_ended_ns"
CAMERA_VIDEO_LOOPS = "video_loops"
# Added: a recorded class's clip (camera.start_with_session in group mode) started playing: its
# frame 0's stamp (monotonic ns). The class's routine clock starts there (services/scoring.py).
CAMERA_VIDEO_STARTED_NS = "video_started_ns"
# Added ([class]): a key of the scoring service's Health detail, true while a class's routine is
# over and the next waits (services/scoring.py ClassSessions.class_over: the remote's start, or
# the room empty for a moment): the TV's start screen says so instead of "follow along and you
# join", which nobody could then. A bool when present (checked at decode).
SCORING_CLASS_OVER = "class_over"
# Added ([program]): a key of the scoring service's Health detail, false from a fall event (the
# question, or a hard fall's call) until the person has been upright again for a moment
# (common/coach/fall.py FallDetector.up_since_event; in a class, every member): the TV's alert
# then gives way to the session going on behind it. A bool when present (checked at decode).
SCORING_UP_AGAIN = "up_again"


@dataclass(frozen=True)
class Control:
    """A remote-control command from the TV (renderer) to scoring."""

    TOPIC: ClassVar[str] = "control"
    seq: int
    t_capture_ns: int
    command: str  # "start" | "pause" | "resume" | "stop" | "participant" | "fall_ok" (the remote answers "괜찮으세요?")
    # | "skip" (added, [program]: the remote's ▶ in a program, the part on screen or the rest after it ends now)
    # ... | "skip" (added, [program]: the current part of a program ends now and the next begins)
    participant: str = ""


@dataclass(frozen=True)
class Delivery:
    """What the central side said about a session or alert the uplink sent: the TV tells the
    senior what really happened to a fall alert (docs/mqtt.md, the `ack` topic)."""

    TOPIC: ClassVar[str] = "delivery"
    seq: int
    t_capture_ns: int
    msg_id: str  # the record's id: a session_id or an alert_id
    result: str  # one of DELIVERY_RESULTS


# stored / duplicate: the collector has it; rejected: it never will; notified: a carer was told.
DELIVERY_RESULTS = ("stored", "duplicate", "rejected", "notified")

# Alert.stage and Alert.answer (ask before calling: common/coach/checkin.py).
ALERT_STAGES = ("asking", "answered", "called")
ALERT_ANSWERS = ("", "hard_fall", "no_answer", "wave", "remote")

MAX_PROGRAM_PARTS = 50  # common/coach/program.py MAX_PARTS
MAX_SPOT = 64  # group mode's spots: far more than a TV's class
MAX_TRACK = 2**31 - 1  # a follower's number: one a person followed, counting up while inference runs

MESSAGE_TYPES: dict[str, type] = {t.TOPIC: t for t in (Frame, Pose, Score, Session, Alert, Health, Control, Delivery)}

# Anything larger is dropped before decoding: a frame header or a Session summary is a few kB.
MAX_HEADER_BYTES = 256 * 1024


def encode(msg) -> bytes:
    """msgpack of the message's fields (not the pixels), with the schema version under "v"."""
    body = {f.name: getattr(msg, f.name) for f in dataclasses.fields(msg) if f.name != "pixels"}
    body["v"] = SCHEMA_VERSION
    return msgpack.packb(body, use_bin_type=True)


_FIELDS = {name: tuple(dataclasses.fields(cls)) for name, cls in MESSAGE_TYPES.items()}


def decode(topic: str, data: bytes, pixels: np.ndarray | None = None):
    """Bytes -> message of the topic's type; raises MalformedMessage saying what was wrong."""
    cls = MESSAGE_TYPES.get(topic)
    if cls is None:
        raise MalformedMessage(f"unknown topic {topic!r}")
    if len(data) > MAX_HEADER_BYTES:
        raise MalformedMessage(f"{topic}: {len(data)} bytes is over the {MAX_HEADER_BYTES} byte limit")
    try:
        body = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types on garbage
        raise MalformedMessage(f"{topic}: not msgpack ({type(exc).__name__})") from None
    if not isinstance(body, dict):
        raise MalformedMessage(f"{topic}: expected a map, got {type(body).__name__}")
    if body.get("v") != SCHEMA_VERSION:
        raise MalformedMessage(f"{topic}: schema version {body.get('v')!r}, this build reads {SCHEMA_VERSION}")
    kwargs: dict[str, Any] = {}
    for f in _FIELDS[topic]:
        if f.name == "pixels":
            continue
        if f.name in body:
            kwargs[f.name] = body[f.name]
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise MalformedMessage(f"{topic}: missing field {f.name!r}")
    try:
        msg = cls(**kwargs)
    except TypeError as exc:
        raise MalformedMessage(f"{topic}: {exc}") from None
    _check_types(topic, msg)
    _check_values(topic, msg)
    if topic == "frame":
        msg = _attach_pixels(msg, pixels)
    return msg


_LEN = struct.Struct("<I")
MAX_TOPIC_BYTES = 32


def to_wire(msg) -> bytes | bytearray:
    """The whole wire message for `msg` (see the module docstring)."""
    header = encode(msg)
    prefix = msg.TOPIC.encode() + b"\x00" + _LEN.pack(len(header))
    if msg.TOPIC != "frame" or msg.ring_id:
        return prefix + header
    pixels = memoryview(np.ascontiguousarray(msg.pixels)).cast("B")
    out = bytearray(len(prefix) + len(header) + pixels.nbytes)
    out[: len(prefix)] = prefix
    out[len(prefix): len(prefix) + len(header)] = header
    out[len(prefix) + len(header):] = pixels
    return out


def wire_topic(buf) -> str:
    view = memoryview(buf)
    head = bytes(view[:MAX_TOPIC_BYTES])
    end = head.find(b"\x00")
    if end <= 0:
        raise MalformedMessage("no topic at the start of the message")
    return head[:end].decode("ascii", "replace")


def from_wire(buf):
    """Wire bytes -> message; raises MalformedMessage saying what was wrong."""
    view = memoryview(buf)
    topic = wire_topic(view)
    start = len(topic) + 1
    if len(view) < start + _LEN.size:
        raise MalformedMessage(f"{topic}: truncated before the header length")
    (n,) = _LEN.unpack_from(view, start)
    body = start + _LEN.size
    if n > MAX_HEADER_BYTES:
        raise MalformedMessage(f"{topic}: {n} byte header is over the {MAX_HEADER_BYTES} byte limit")
    if len(view) < body + n:
        raise MalformedMessage(f"{topic}: truncated header ({len(view) - body} of {n} bytes)")
    pixels = view[body + n:]
    if topic != "frame" and len(pixels):
        raise MalformedMessage(f"{topic}: {len(pixels)} unexpected bytes after the header")
    return decode(topic, bytes(view[body: body + n]), pixels if topic == "frame" else None)


# Every integer field (sequence numbers, nanosecond times, ids, counters) is a count from zero
# that arithmetic and msgpack can carry: 2**62 ns is 146 years. Every float field is a rate, a
# latency, a score or a unix time: finite and far below 1e12.
MAX_INT = 2**62
# The integer fields where -1 means "none" (a program's part outside a program); their own
# range is checked in _check_values.
NONE_IS_MINUS_ONE = frozenset(("part",))
MAX_FLOAT = 1e12


def _check_types(topic: str, msg) -> None:
    # Cheap guards on the fields consumers index into; msgpack already gives the base types.
    for f in _FIELDS[topic]:
        value = getattr(msg, f.name)
        want = f.type if isinstance(f.type, str) else ""
        lowest = -1 if f.name in NONE_IS_MINUS_ONE else 0
        if want == "int" and (not isinstance(value, int) or isinstance(value, bool) or not lowest <= value <= MAX_INT):
            raise MalformedMessage(f"{topic}: field {f.name!r} should be an integer from {lowest} to 2**62")
        if want in ("float",) and (not isinstance(value, (int, float)) or not math.isfinite(value)
                                   or abs(value) > MAX_FLOAT):
            raise MalformedMessage(f"{topic}: field {f.name!r} should be a finite number within 1e12")
        if want == "str" and not isinstance(value, str):
            raise MalformedMessage(f"{topic}: field {f.name!r} should be text")
        if want in ("list",) and not isinstance(value, list):
            raise MalformedMessage(f"{topic}: field {f.name!r} should be a list")
        if want in ("dict",) and not isinstance(value, dict):
            raise MalformedMessage(f"{topic}: field {f.name!r} should be a map")
        if want == "bool" and not isinstance(value, bool):
            raise MalformedMessage(f"{topic}: field {f.name!r} should be true or false")


STATUSES = {"correct", "near", "wrong", "none"}
# Who publishes Health: the five services and the demo's simulated participant.
HEALTH_SENDERS = frozenset(("camera", "inference", "scoring", "renderer", "uplink", "simulator"))


# A body's landmarks lie within a few metres of its hips; anything farther is not a person.
WORLD_LIMIT_M = 10.0


def _finite(values) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def _finite_rows(values: list, rows: int, width: int = 0) -> list | None:
    """`values` flattened when they are `rows` numbers (width 0) or `rows` lists of `width`
    numbers, all finite; else None. One fsum over them all instead of a test per number: a
    BlazePose message is 231 numbers, checked 30 times a second by each reader, and the readers
    run cold (numpy's array checks cost more than this there, measured)."""
    if len(values) != rows:
        return None
    if width:
        if not all(type(row) is list and len(row) == width for row in values):
            return None
        values = list(itertools.chain.from_iterable(values))
    try:
        total = math.fsum(values)  # raises on anything that is not a number; inf or nan stays so
    except (TypeError, OverflowError):
        return None
    return values if math.isfinite(total) else None


# A wall-clock time (seconds since 1970, UTC) is a date from 1970 to 2100-01-01: a later, negative
# or non-finite one is no clock's (the central side prints none past that day either).
MAX_UNIX = 4102444800.0


def is_time_key(key: str) -> bool:
    """A summary key that holds a wall-clock time: "unix" or "<something>_unix" (an alert's time)."""
    return key == "unix" or key.endswith("_unix")


def _bounded(value, depth: int = 0, wall_clock: bool = False) -> bool:
    """Every number in a nested summary finite and within 1e6 (angles, counts, seconds), at most
    six levels deep, keys text; a number under a time key (is_time_key) is checked as a time
    instead: a date from 1970 to 2100, not an amount."""
    if depth > 6:
        return False
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, (int, float)):
        if wall_clock:
            return math.isfinite(value) and 0 <= value <= MAX_UNIX
        return math.isfinite(value) and abs(value) <= 1e6
    if isinstance(value, list):
        return all(_bounded(v, depth + 1, wall_clock) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _bounded(v, depth + 1, is_time_key(k)) for k, v in value.items())
    return False


def _check_values(topic: str, msg) -> None:
    """What consumers index into or compute with must have the right shape: a message that
    decodes but would break a consumer is malformed too."""
    if not 0 <= getattr(msg, "spot", 0) <= MAX_SPOT:
        raise MalformedMessage(f"{topic}: spot must be 0-{MAX_SPOT}")
    if topic == "frame" and not (msg.file_t_s == -1 or 0 <= msg.file_t_s <= 86400):
        raise MalformedMessage("frame: file_t_s must be -1 (not a recording's session) or 0-86400 seconds")
    if topic in ("score", "session") and (not -1 <= msg.part < MAX_PROGRAM_PARTS or len(msg.program) > 64):
        raise MalformedMessage(f"{topic}: part must be -1 (no program) to {MAX_PROGRAM_PARTS - 1} and program at most 64 characters")
    if topic == "score" and not (math.isfinite(msg.resting_s) and 0 <= msg.resting_s <= 600
                                 and math.isfinite(msg.part_t_s) and 0 <= msg.part_t_s <= 86400):
        raise MalformedMessage("score: resting_s must be 0-600 seconds and part_t_s 0-86400")
    if not 0 <= getattr(msg, "track", 0) <= MAX_TRACK:
        raise MalformedMessage(f"{topic}: track must be 0-{MAX_TRACK}")
    if not 0 <= getattr(msg, "people", 0) <= MAX_SPOT:
        raise MalformedMessage(f"{topic}: people must be 0-{MAX_SPOT}")
    if topic == "pose":
        if msg.layout not in LAYOUTS:
            raise MalformedMessage(f"pose: unknown layout {msg.layout!r}")
        n = len(LAYOUTS[msg.layout])
        if msg.keypoints and _finite_rows(msg.keypoints, n, 3) is None:
            raise MalformedMessage(f"pose: keypoints must be {n} finite [x, y, score] for {msg.layout}")
        if msg.z and _finite_rows(msg.z, n) is None:
            raise MalformedMessage(f"pose: z must be {n} finite numbers")
        if msg.world:
            world = _finite_rows(msg.world, n, 3)
            if world is None or max(world) > WORLD_LIMIT_M or min(world) < -WORLD_LIMIT_M:
                raise MalformedMessage(f"pose: world must be {n} finite [x, y, z] within {WORLD_LIMIT_M:.0f} m")
        if not (0 < msg.width <= 8192 and 0 < msg.height <= 8192):
            raise MalformedMessage(f"pose: size {msg.width}x{msg.height} out of range")
    elif topic == "score":
        if not all(isinstance(k, str) and isinstance(v, str) and v in STATUSES for k, v in msg.joint_status.items()) \
                or msg.verdict not in STATUSES:
            raise MalformedMessage("score: a joint status is not correct/near/wrong/none")
        if not _finite(msg.joint_error_deg.values()) or any(abs(v) > 360 for v in msg.joint_error_deg.values()):
            raise MalformedMessage("score: joint errors must be finite degrees")
        if not (0 <= msg.score <= 100 and 0 <= msg.progress <= 1 and abs(msg.offset_s) <= 3600
                and abs(msg.routine_t_s) <= 86400):
            raise MalformedMessage("score: score 0-100, progress 0-1, offset within an hour, routine time within a day")
        if not isinstance(msg.judged_strip, str) or len(msg.judged_strip) > MAX_SECONDS or msg.judged_strip.strip("cnw-"):
            raise MalformedMessage(f"score: judged_strip must be at most {MAX_SECONDS} of c/n/w/-")
    elif topic == "session":
        if msg.event not in ("start", "end"):
            raise MalformedMessage(f"session: event {msg.event!r} is not start/end")
        if not 0 <= msg.started_unix <= MAX_UNIX:
            raise MalformedMessage("session: started_unix must be a time from 1970 to 2100 (seconds since 1970)")
        s = msg.summary
        joints = s.get("joints", {})
        if not isinstance(joints, dict) or not _bounded(s) or not 0 <= s.get("score", 0) <= 100 \
                or not 0 <= s.get("reps", 0) <= 100_000 or not all(0 <= v <= 1 for v in joints.values()):
            raise MalformedMessage("session: summary numbers out of range (score 0-100, reps, joints 0-1)")
        by_side, depth = s.get("reps_by_side", {}), s.get("rep_depth", {})
        if not isinstance(by_side, dict) or not set(by_side) <= {"left", "right"} \
                or not all(isinstance(v, int) and 0 <= v <= 100_000 for v in by_side.values()) \
                or not isinstance(depth, dict) or not all(isinstance(v, (int, float)) and 0 <= v <= 360
                                                          for v in depth.values()):
            raise MalformedMessage("session: summary reps_by_side must be left/right counts 0-100000 and "
                                   "rep_depth numbers 0-360")
        deeper = s.get("deeper", "")  # the correction toward the routine's depth (scoring.deeper_key)
        if not isinstance(deeper, str) or (deeper and not CORRECTION_KEY.match(deeper)):
            raise MalformedMessage("session: summary deeper must be a correction key such as knee.less")
        timeline = s.get("timeline", "")
        if not isinstance(timeline, str) or len(timeline) > MAX_SECONDS or timeline.strip("cnw-"):
            raise MalformedMessage(f"session: summary timeline must be at most {MAX_SECONDS} of c/n/w/-")
        framing = s.get("framing", {})
        if not isinstance(framing, dict) or framing.get("advice", "") not in ("", *ADVICE) or not all(
                isinstance(v, (int, float)) and 0 <= v <= 1 for k, v in framing.items() if k != "advice"):
            raise MalformedMessage("session: summary framing shares must be 0-1 and its advice a known key")
        if s.get("seen_not_measured", "front") != "front":  # common/coach/scoring.py seen_not_measured: from where
            raise MalformedMessage("session: summary seen_not_measured must be 'front' (the view a 2D model could not "
                                   "measure the movement from) or absent")
        per_s, too_few = s.get("poses_per_s", 0.0), s.get("too_few_poses", False)
        if not isinstance(per_s, (int, float)) or isinstance(per_s, bool) or not 0 <= per_s <= 1000 \
                or not isinstance(too_few, bool):
            raise MalformedMessage("session: summary poses_per_s must be 0-1000 and too_few_poses true or false")
    elif topic in ("health", "alert") and not _finite([getattr(msg, "fps", 0), getattr(msg, "unix", 0)]):
        raise MalformedMessage(f"{topic}: numbers must be finite")
    if topic == "alert" and not 0 <= msg.unix <= MAX_UNIX:
        raise MalformedMessage("alert: unix must be a time from 1970 to 2100 (seconds since 1970)")
    if topic == "alert" and (msg.stage not in ALERT_STAGES or msg.answer not in ALERT_ANSWERS
                             or not (math.isfinite(msg.countdown_s) and 0 <= msg.countdown_s <= 3600)
                             or not (math.isfinite(msg.asked_unix) and 0 <= msg.asked_unix <= MAX_UNIX)):
        raise MalformedMessage(f"alert: stage must be one of {', '.join(ALERT_STAGES)}, answer one of "
                               f"{', '.join(a or '(none)' for a in ALERT_ANSWERS)}, countdown_s 0-3600, "
                               "asked_unix 0 or a time to 2100")
    if topic == "delivery" and (msg.result not in DELIVERY_RESULTS or not 0 < len(msg.msg_id) <= 128):
        raise MalformedMessage(f"delivery: result must be one of {', '.join(DELIVERY_RESULTS)} and msg_id 1-128 characters")
    if topic == "health" and (msg.service not in HEALTH_SENDERS or len(msg.state) > 32 or len(msg.backend) > 32):
        # Consumers keep one entry per sender (and the uplink forwards them): only known senders,
        # short states, so a stray publisher cannot grow them without bound.
        raise MalformedMessage(f"health: unknown sender {msg.service[:40]!r} or an over-long state")
    if topic == "health" and not isinstance(msg.detail.get(SCORING_CLASS_OVER, False), bool):
        raise MalformedMessage(f"health: detail {SCORING_CLASS_OVER!r} must be true or false")
    if topic == "health" and not isinstance(msg.detail.get(SCORING_UP_AGAIN, True), bool):
        raise MalformedMessage(f"health: detail {SCORING_UP_AGAIN!r} must be true or false")


MAX_RING_SLOTS = 1024


def _attach_pixels(frame: Frame, pixels) -> Frame:
    if not (0 < frame.width <= 8192 and 0 < frame.height <= 8192):
        raise MalformedMessage(f"frame: size {frame.width}x{frame.height} out of range")
    if frame.ring_id:  # the pixels are in the camera's ring: the subscriber reads them there
        if pixels is not None and len(pixels):
            raise MalformedMessage("frame: pixels both in the message and in the ring")
        if frame.ring_slot >= MAX_RING_SLOTS:
            raise MalformedMessage(f"frame: ring slot {frame.ring_slot} out of range")
        return frame
    if pixels is None:
        raise MalformedMessage("frame: pixel part missing")
    want = frame.width * frame.height * 3
    buf = np.frombuffer(pixels, dtype=np.uint8)
    if buf.size != want:
        raise MalformedMessage(f"frame: {buf.size} pixel bytes for {frame.width}x{frame.height} BGR (want {want})")
    return dataclasses.replace(frame, pixels=buf.reshape(frame.height, frame.width, 3))
