"""[reliability] finding 3: single well-formed bus messages must not crash a service.

Hypothesis generates messages whose every field is valid but extreme (integers at 0 and 2**62,
floats at the edges the decoder allows, odd text, huge and empty maps), sends each through the
real wire encoding, and feeds whatever decodes into the real handlers: the renderer's absorb +
draw of every screen, and the scoring service's session state machine (real spool, real
publisher socket). Anything the decoder refuses is fine (dropped and counted elsewhere); anything
it accepts must be handled without an exception.
"""
from __future__ import annotations

import logging
import threading

import pytest
import zmq
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from common.bus import messages
from common.coach.keypoints import LAYOUTS

# Values at the edges of what the decoder accepts (it refuses what lies beyond: see the last test).
EXTREME_INT = st.sampled_from([0, 1, 2**31, 2**62])
EXTREME_FLOAT = st.sampled_from([0.0, -0.0, 1e-300, 1.0, 99.9, 100.0, 1e6, 1e12, -1e12])
FRACTION = st.sampled_from([0.0, 1e-300, 0.5, 1.0])
PERCENT = st.sampled_from([0.0, 1e-300, 49.9, 100.0])
DEGREES = st.sampled_from([-360.0, -1e-300, 0.0, 179.9, 360.0])
SIZE = st.sampled_from([1, 2, 8192])
TEXT = st.sampled_from(["", "ok", "lost", "correct", "near", "wrong", "none", "start", "end", "x" * 5000,
                        "김영희\n", "\x00", "left_knee", "no.such.locale.key"])
STATUS = st.sampled_from(sorted(messages.STATUSES))
JOINT = st.sampled_from(["left_knee", "right_knee", "trunk_lean", "nose", "x" * 300, ""])
STATUS_MAP = st.dictionaries(JOINT, STATUS, max_size=4)
COORD = st.sampled_from([-1e12, -1.0, 0.0, 1e-300, 0.5, 8191.0, 1e12])


def keypoints(layout: str, coord=COORD):
    n = len(LAYOUTS[layout])
    point = st.lists(coord, min_size=3, max_size=3)
    return st.one_of(st.just([]), st.lists(point, min_size=n, max_size=n))


@st.composite
def extreme_message(draw):
    kind = draw(st.sampled_from(["pose", "score", "session", "health", "alert"]))
    seq, t = draw(EXTREME_INT), draw(EXTREME_INT)
    if kind == "pose":
        layout = draw(st.sampled_from(sorted(LAYOUTS)))
        return messages.Pose(seq=seq, t_capture_ns=t, frame_id=draw(EXTREME_INT), width=draw(SIZE),
                             height=draw(SIZE), model=draw(TEXT), backend=draw(TEXT), layout=layout,
                             keypoints=draw(keypoints(layout)), latency_ms=draw(EXTREME_FLOAT),
                             world=draw(keypoints(layout, st.sampled_from([-10.0, 0.0, 1e-300, 10.0]))))
    if kind == "score":
        return messages.Score(seq=seq, t_capture_ns=t, frame_id=draw(EXTREME_INT), session_id=draw(TEXT),
                              routine=draw(TEXT), joint_status=draw(STATUS_MAP),
                              joint_error_deg=draw(st.dictionaries(JOINT, DEGREES, max_size=4)),
                              verdict=draw(STATUS), reps=draw(EXTREME_INT), score=draw(PERCENT),
                              progress=draw(FRACTION), offset_s=draw(st.sampled_from([-3600.0, 0.0, 3600.0])),
                              guidance=draw(TEXT))
    if kind == "session":
        big = st.sampled_from([-1e6, 0.0, 1e-300, 1e6])
        summary = draw(st.fixed_dictionaries({}, optional={
            "score": PERCENT, "reps": st.sampled_from([0, 1, 100_000]), "joints": st.dictionaries(JOINT, FRACTION),
            "frames": st.sampled_from([0, 1_000_000]), "timing": st.fixed_dictionaries(
                {"mean_lag_s": big, "tempo": big, "tempo_start": big, "tempo_end": big, "rejoined": big}),
            "range_of_motion": st.dictionaries(JOINT, st.fixed_dictionaries(
                {"min": big, "max": big, "range": big}))}))
        return messages.Session(seq=seq, t_capture_ns=t, session_id=draw(TEXT), event=draw(st.sampled_from(
                                    ["start", "end"])), routine=draw(TEXT),
                                participant=draw(TEXT), started_unix=draw(EXTREME_FLOAT),
                                routine_start_ns=draw(EXTREME_INT), summary=summary)
    if kind == "health":
        return messages.Health(seq=seq, t_capture_ns=t, service=draw(TEXT), fps=draw(EXTREME_FLOAT),
                               latency_p50_ms=draw(EXTREME_FLOAT), latency_p95_ms=draw(EXTREME_FLOAT),
                               dropped=draw(EXTREME_INT), malformed=draw(EXTREME_INT), state=draw(TEXT),
                               backend=draw(TEXT))
    return messages.Alert(seq=seq, t_capture_ns=t, alert_id=draw(TEXT), session_id=draw(TEXT), kind=draw(TEXT),
                          detail=draw(TEXT), unix=draw(EXTREME_FLOAT))


def decoded(msg):
    """through_the_wire, for the generated messages: they are meant to decode."""
    got = through_the_wire(msg)
    assume(got is not None)
    return got


def through_the_wire(msg):
    """The message as a receiver gets it, or None when the decoder refuses it."""
    try:
        wire = messages.to_wire(msg)
    except (OverflowError, ValueError, TypeError):
        return None  # the sender's own encoder cannot even carry it
    try:
        return messages.from_wire(wire)
    except messages.MalformedMessage:
        return None


@pytest.fixture(scope="module")
def screen():
    import pygame

    from common.coach import routine as routines
    from services.renderer.screen import ScreenState
    from services.renderer.text import Fonts, find_font, load_texts

    pygame.display.init()
    pygame.font.init()
    surface = pygame.Surface((640, 360))
    state = ScreenState(routine=routines.load("squat"), texts=load_texts("ko"))
    return surface, Fonts(find_font(), 360), state


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(msg=extreme_message())
def test_the_renderer_draws_whatever_decodes(screen, msg):
    from services.renderer import absorb
    from services.renderer.screen import draw

    surface, fonts, state = screen
    got = decoded(msg)
    for now in (0.0, 5.0, 1e4):
        absorb(state, got, now)
        draw(surface, fonts, state, now)
    state.session = got if got.TOPIC == "session" else state.session
    draw(surface, fonts, state, 1.0)  # the summary screen, with whatever summary passed decoding


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    from common import config as configuration
    from common.bus.service import ServiceContext
    from common.bus.sockets import Publisher
    from common.spool import Spool
    from services.scoring import Sessions

    folder = tmp_path_factory.mktemp("scoring")
    cfg = configuration.load(None, {"bus": {"runtime_dir": str(folder / "run")}, "scoring": {"autostart": True}})
    (folder / "run").mkdir()
    context = zmq.Context()
    ctx = ServiceContext("scoring", cfg, context, threading.Event(), logging.getLogger("scoring"))
    pub = Publisher(context, ctx.endpoint())
    spool = Spool(folder / "spool.db")
    yield Sessions(ctx, pub, spool)
    spool.close()
    pub.close()
    context.destroy(linger=0)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(msg=extreme_message())
def test_scoring_handles_whatever_decodes(sessions, msg):
    got = decoded(msg)
    if got.TOPIC != "pose":
        return
    sessions.on_pose(got)
    sessions.tick(got.t_capture_ns)
    sessions.tick(0)


def test_the_four_reported_crashes_are_refused_at_decode():
    """The findings' own messages: a list as a joint status, a joint accuracy of 1e300, a capture
    time of 2**64-1, and a sequence number that would overflow the dropped counter."""
    score = messages.Score(seq=1, t_capture_ns=1, frame_id=1, session_id="s", routine="squat",
                           joint_status={"left_knee": ["wrong"]}, joint_error_deg={}, verdict="none", reps=0,
                           score=0.0, progress=0.0)
    session = messages.Session(seq=1, t_capture_ns=1, session_id="s", event="end", routine="squat",
                               participant="kim", started_unix=0.0, summary={"joints": {"left_knee": 1e300}})
    pose = messages.Pose(seq=1, t_capture_ns=2**64 - 1, frame_id=1, width=10, height=10, model="m", backend="cpu",
                         layout="coco17", keypoints=[])
    for msg in (score, session, pose):
        assert through_the_wire(msg) is None


def test_health_from_unknown_senders_is_refused_so_no_table_grows_without_bound():
    """[reliability] finding 8: the renderer and the uplink keep one entry per Health sender (and
    the uplink forwards them); a stray publisher inventing names must not grow them."""
    def health(service: str, state: str = "ok"):
        return messages.Health(seq=1, t_capture_ns=1, service=service, fps=1.0, latency_p50_ms=1.0,
                               latency_p95_ms=1.0, dropped=0, malformed=0, state=state)
    assert through_the_wire(health("uplink")) is not None
    assert through_the_wire(health("service-4711")) is None
    assert through_the_wire(health("uplink", state="x" * 5000)) is None
