"""What the TV shows, as pure functions of a ScreenState: easy to test on pixels headless."""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np
import pygame

from common.bus import messages
from common.coach import MIN_POSES_PER_S
from common.coach.session import FEWEST_POSES_PER_S
from common.coach.cues import to_practise
from common.program_results import score_withheld  # noqa: F401 - the one no-score rule; the demo's line follows it too
from common.coach.framing import in_view
from common.coach.keypoints import COMMON_INDEX, EDGES, flip_x, to_common
from common.coach.spots import spot_name
from common.coach.routine import Routine
from common.coach.scoring import TURN_SIDEWAYS
from common.coach.synthetic import pose3d
from common.timeline import MAX_SECONDS, UNSCORED, VERDICT_OF, VerdictTimeline, best_and_worst, clock, share_verdict
from services.renderer.program import (
    draw_next_label,
    draw_program_summary,
    draw_program_top_bar,
    draw_rest,
    part_of,
    part_progress,
    program_title,
    rest_left,
    wrapped,
)

BACKGROUND = (24, 36, 52)
PANEL = (34, 50, 70)
TEXT = (245, 240, 230)
MUTED = (170, 180, 190)
STATUS_COLORS = {"correct": (46, 204, 113), "near": (241, 196, 15), "wrong": (231, 76, 60), "none": (140, 150, 155)}
UNSCORED_LIMB = (220, 225, 230)
STRIP_UNSCORED = (95, 105, 115)  # a second nobody could be judged in: neither good nor bad
# The live strip's seconds the score has not judged yet (the repetition in them is not over): a thin
# bar of the grey, so the strip never shows a colour before the score gives it one.
PENDING = "?"
INSTRUCTOR_BLUE = (120, 200, 255)
INSTRUCTOR_LIMBS = {e: INSTRUCTOR_BLUE for e in EDGES}
INSTRUCTOR_FAR = (70, 125, 170)  # the limbs on the far side of a figure drawn from the side
ALERT_BG = (170, 30, 30)
QUESTION_BG = (20, 50, 110)  # the question after a suspected fall: urgent, not yet an alarm
HIGHLIGHT = (255, 220, 120)  # what to do now: cues, hints

# Text sizes as fractions of the screen height. BODY is the floor for every word on the TV: on a
# 40-inch TV 1/20 of the height is 25 mm, which reads from 3 m. Key numbers are larger.
BODY = 1 / 20
CUE = 1 / 15
HEADING = 1 / 12
KEY = 1 / 5
MARGIN = 1 / 40  # of the height: the screen's edge, and the gap between blocks
# How a routine's instructor figure is turned when the camera sees the movement from the side
# (routine.view): a squat's bent knees read as bent, and both legs stay visible.
SIDE_VIEW_YAW_DEG = 65.0

# Which angle's status colours a keypoint (the vertex of that angle).
VERTEX_OF = {"left_knee": "left_knee", "right_knee": "right_knee", "left_hip": "left_hip", "right_hip": "right_hip",
             "left_shoulder": "left_shoulder", "right_shoulder": "right_shoulder", "left_elbow": "left_elbow",
             "right_elbow": "right_elbow", "trunk_lean": "mid_hip", "trunk_tilt": "mid_hip"}
RANK = {"none": 0, "correct": 1, "near": 2, "wrong": 3}

LOOKING_AFTER_S = 2.0
CAMERA_LOST_AFTER_S = 3.0
# A USB camera can take seconds to give its first picture: until then, or until this long after
# the TV started, the screen says the camera is starting, not that it is disconnected.
CAMERA_START_TIMEOUT_S = 20.0
ALERT_SHOW_S = 30.0
# The fall alert gives way earlier to the session going on behind it (the current part of a program,
# where scoring has gone on) once scoring says the person is up again (Health detail
# messages.SCORING_UP_AGAIN) - but not before this long, so that it is read and heard: the carer has
# been told whatever the screen shows next (the alert itself is not touched). Still on the floor:
# the alert stays ALERT_SHOW_S as before.
ALERT_MIN_S = 10.0
# The question after a suspected fall stays this long past its countdown if scoring's word (the
# call or the answer) is late; then the TV goes back to what it showed.
QUESTION_GRACE_S = 5.0
SUMMARY_SHOW_S = 30.0


@dataclass
class ScreenState:
    routine: Routine
    texts: dict
    frame: messages.Frame | None = None
    frame_at: float = -1e9
    started_at: float = 0.0  # when the TV started (monotonic s)
    pose: messages.Pose | None = None
    person_at: float = -1e9
    score: messages.Score | None = None
    score_at: float = -1e9  # when that Score arrived (monotonic s)
    session: messages.Session | None = None
    session_at: float = -1e9
    alert: messages.Alert | None = None
    alert_at: float = -1e9
    alert_delivery: str = ""  # what the central side said of that alert (messages.Delivery.result)
    alert_said: str = ""  # the alert news already spoken
    # Ask before calling: the open question after a suspected fall (an Alert with stage "asking")
    # and when it arrived; its countdown runs from there.
    question: messages.Alert | None = None
    question_at: float = -1e9
    # When the last question was answered (taken off the TV), and the session it was asked in.
    question_answered_at: float = -1e9
    question_answered_session: str = ""
    camera_state: str = "unknown"
    backend: str = ""
    cpu_fallback: bool = False  # an Edge TPU model configured, and inference runs its CPU model instead
    fps: float = 0.0
    paused: bool = False
    participant: str = "guest"
    routine_of: str = ""  # the participant whose routine (seated variant or not) is shown
    participant_names: dict = field(default_factory=dict)  # key -> name shown (config [participants])
    health: dict = field(default_factory=dict)
    footage: object | None = None  # the instructor's video (footage.InstructorFootage), if the routine has one
    instructor_skeleton: bool = False  # draw the instructor's skeleton over their video
    timeline: VerdictTimeline = field(default_factory=VerdictTimeline)  # this session's strip, from every Score
    timeline_session: str = ""  # the session the strip is of
    # A single routine's strip as the score judges it (Score.judged_strip, the summary's timeline so
    # far) and its session: the exercise screen's strip (live_strip).
    judged_strip: str = ""
    judged_strip_session: str = ""
    # Group mode (a class): the newest frame's Pose, latest Score, name and final summary per spot.
    people: dict = field(default_factory=dict)
    people_frame: int = -1
    people_scores: dict = field(default_factory=dict)
    people_names: dict = field(default_factory=dict)
    people_results: dict = field(default_factory=dict)
    track_spots: dict = field(default_factory=dict)  # a followed person's track -> their spot (from the Scores)
    # Group mode: the people read who are not (yet) members, by track (their newest Pose), drawn
    # neutral without a name: someone starting to follow the routine is seen before their spot comes
    # (common/coach/spots.py: a few repetitions in place). Each one's recent readings (note_candidate)
    # and when one of them last moved: the TV says "getting ready", not "nobody follows" (getting_ready).
    candidates: dict = field(default_factory=dict)
    candidate_paths: dict = field(default_factory=dict)
    candidate_moved_at: float = -1e9
    # Group mode (scoring.mode = "group"): only members are drawn (`people`), never the newest Pose as
    # one person's is: that is whoever inference read last, a passer-by too (people_drawn).
    a_class: bool = False
    # What staff can do when the box read too few pictures (common/media.py slow_reading_case):
    # "camera" (a lower resolution), "video" (play the file at its own pace), "model" (a lighter one).
    slow_reading_fix: str = "camera"
    # A class's members whose sessions run (spot -> their start Session): the class is on until the
    # last of them ends, then its summary shows (renderer absorb_class_session).
    class_running: dict = field(default_factory=dict)
    # A class's routine is over and the next waits for the remote's start or the room to empty
    # (scoring's Health, messages.SCORING_CLASS_OVER): the start screen says so, not "follow along".
    class_over: bool = False
    # Scoring's word that the person is up again since their last fall event (Health detail
    # messages.SCORING_UP_AGAIN), when it last turned true, and when the alert on screen began:
    # its question's arrival, or the call's when none was asked (alert_until).
    up_again: bool = True
    up_again_at: float = -1e9
    alert_began_at: float = -1e9
    recent_frames: dict = field(default_factory=dict)  # frame_id -> Frame, the last few (shown_frame)
    holds: object = None  # whether a kept frame's pixels are still its own (the camera's ring); None: always
    # A program (many movements in a row, Session.program): what the TV shows of it
    # (services/renderer/program.py ProgramShown); None for a single routine.
    program: object | None = None
    part_said: int = -1  # the part whose name was last spoken
    # The framing hint the start screen shows (setup_hint: held and cleared with hysteresis).
    setup: "SetupHint" = field(default_factory=lambda: SetupHint())

    def t(self, key: str) -> str:
        return self.texts.get(key, key)


def alert_until(s: ScreenState) -> float:
    """When the fall alert on screen gives way: ALERT_SHOW_S after it arrived, or, when scoring has
    said the person is up again since the fall began (the question, or the call), at that moment
    but ALERT_MIN_S after the call at the earliest. Fresh-eyes trial 46c: a false alarm's alert
    covered the next parts of a program for 30 s while the person exercised and scoring went on."""
    until = s.alert_at + ALERT_SHOW_S
    if s.up_again and s.up_again_at > min(s.alert_began_at, s.alert_at):
        until = min(until, max(s.alert_at + ALERT_MIN_S, s.up_again_at))
    return until


def which_screen(s: ScreenState, now: float) -> str:
    if s.alert is not None and now < alert_until(s):
        return "alert"
    if s.question is not None and now - s.question_at < s.question.countdown_s + QUESTION_GRACE_S:
        return "fall_check"
    if s.camera_state != "lost" and s.frame_at < s.started_at and now - s.started_at < CAMERA_START_TIMEOUT_S:
        return "camera_starting"  # no picture yet since the TV started, and the camera has not said it is lost
    if s.camera_state == "lost" or (now - s.frame_at > CAMERA_LOST_AFTER_S):
        return "camera_lost"
    if s.session is not None and s.session.event == "end" and now - summary_shown_from(s) < SUMMARY_SHOW_S:
        return "summary"
    if s.session is not None and s.session.event == "start":
        if s.score is not None and s.score.phase == "countdown":
            return "countdown"
        if (in_program(s) and s.score is not None and s.score.resting_s > 0 and s.score.session_id == s.session.session_id
                and part_of(s) == s.score.part):  # not once the next part is announced
            return "rest"  # between movements: a person out of view then is resting, not lost
        if now - s.person_at > LOOKING_AFTER_S:
            return "looking"
        return "exercise"
    if setup_hint(s, now) != "setup.ok":
        return "setup"
    return "start"


def summary_shown_from(s: ScreenState) -> float:
    """When the ended session's summary comes on screen: at its end, or, when a fall in that
    session put the alert on screen, once the alert gives way; when a fall question was still on
    screen at the end, once it gives way (answered, or its countdown and grace over): a fall does
    not cost the person their session's ending, however the question ends."""
    shown_from = s.session_at
    if s.session is None:
        return shown_from
    ended = s.session.session_id
    if s.alert is not None and s.alert.session_id == ended:
        shown_from = max(shown_from, alert_until(s))
    if s.question is not None and s.question.session_id == ended:  # open, or no word from scoring came
        shown_from = max(shown_from, s.question_at + s.question.countdown_s + QUESTION_GRACE_S)
    if s.question_answered_session == ended:
        shown_from = max(shown_from, s.question_answered_at)
    return shown_from


MOVING_SCREENS = ("exercise", "countdown", "looking")  # the instructor moves with the routine clock
# A program's part: the person who stops for it is told this (scoring's guidance then), and is
# not coloured or scored as wrong for it; a person out of view in a program is told it too.
REST_OK = "program.rest_ok"
# A single routine's person standing still is invited to follow (common/coach/session.py FOLLOW_ALONG):
# like resting, calm words and no colours, neither praise nor a correction.
CALM_GUIDANCE = (REST_OK, "session.follow_along")


def in_program(s: ScreenState) -> bool:
    """Whether the newest Score places the screen in a program's part (or its rest)."""
    return part_of(s) >= 0


def content_key(s: ScreenState, now: float) -> tuple:
    """Everything a draw at `now` depends on: equal keys draw equal pictures, so the renderer
    can skip the draw (and the display flip) when nothing changed."""
    screen = which_screen(s, now)
    seqs = tuple(m.seq if m is not None else -1 for m in (s.frame, s.pose, s.score, s.session, s.alert))
    seqs += tuple(sorted((k, m.seq) for k, m in {**s.people, **{-k: v for k, v in s.people_scores.items()}}.items()))
    moving = routine_time(s, now) if screen in MOVING_SCREENS else (
        question_left(s, now) if screen == "fall_check" else rest_left(s, now) if screen == "rest" else None)
    return (screen, seqs, moving, s.camera_state, s.backend, s.cpu_fallback, round(s.fps), s.paused, s.participant,
            s.alert_delivery, s.class_over)


def routine_time(s: ScreenState, now: float) -> float:
    """Seconds into the routine on its own clock (negative in the countdown); it stands still
    while the session is paused."""
    if s.session is None or not s.session.routine_start_ns:
        return 0.0
    at = s.session.paused_at_ns / 1e9 if s.session.paused_at_ns else now
    return at - s.session.routine_start_ns / 1e9


# A verdict that arrived longer ago than this is no longer about the moment on screen (inference or
# scoring stalled): its colours and its praise are not shown.
FRESH_SCORE_S = 0.5


def cue_text(s: ScreenState, key: str) -> str:
    """The words of a cue: a correction's from the routine's cue table (common/coach/cues.py),
    right for this movement; a framing or pace hint's from the locale texts."""
    from common.coach.cues import words

    return words(s.routine, key, s.texts.get("_locale", "ko")) or s.t(key)


def fresh_score(s: ScreenState, now: float) -> messages.Score | None:
    """The latest Score when it is of the session on screen and recent; else None."""
    sc = s.score
    if sc is None or now - s.score_at > FRESH_SCORE_S or s.session is None:
        return None
    # A class: the newest Score is any running member's (the session on screen is the last to start):
    # it was judged stale whenever they differed, and the class drawn uncoloured and unpraised.
    if sc.session_id != s.session.session_id and not any(m.session_id == sc.session_id for m in s.class_running.values()):
        return None
    return sc


def instructor_time(s: ScreenState, now: float) -> float:
    """The routine moment the instructor panel shows: the one the person is judged against.

    Scoring compares each pose with the routine position the person has reached (tempo-tolerant:
    Score.offset_s = routine clock - that position), so the panel shows that position, the
    verdict's own moment, not the routine's clock: what the TV shows as the instructor, the
    colours it paints and the words it says come from one judgement. A person who is slower is
    shown the instructor at their pace; one who stands while the routine squats falls behind
    until the alignment gives up (its lag window) and then is judged, and shown, the squat.
    Without a fresh verdict (countdown, a stall) the panel runs on the routine clock less the last
    known lag, and no verdict is painted (fresh_score)."""
    clock = routine_time(s, now)
    sc = s.score
    if sc is None or s.session is None or sc.session_id != s.session.session_id or clock < 0:
        return clock
    if in_program(s):  # a program's part: its own clock (Score.part_t_s), the program's runs on
        return max(0.0, sc.part_t_s - sc.offset_s)
    if fresh_score(s, now) is not None or s.session.paused_at_ns:
        # Paused: the last judged moment stays on the panel; the verdict going stale half a second
        # into the pause must not move the picture by the pipeline's delay.
        return max(0.0, sc.routine_t_s - sc.offset_s)
    return max(0.0, clock - sc.offset_s)


# A framing problem is said once it has held this long, and taken back once it has been gone this
# long: a person standing where they exercised, at the edge of a threshold (or a model whose
# confidence in an ankle flickers), saw the start screen and "조금 앞으로 와 주세요" take turns
# every ~2 s after a session.
SETUP_SHOW_AFTER_S = 1.5
SETUP_CLEAR_AFTER_S = 1.0
# The distance's thresholds (the person's height over the picture's) and the margin a shown hint
# must be passed by to be taken back.
TOO_FAR_BELOW, TOO_CLOSE_ABOVE, DISTANCE_MARGIN = 0.35, 0.95, 0.05


@dataclass
class SetupHint:
    """The framing hint shown (a setup.* key, "setup.ok" for none), the one the poses now say and
    since when, and the pose last judged."""
    shown: str = "setup.ok"
    seen: str = "setup.ok"
    since: float = -1e9
    pose: tuple = ()
    at: float = -1e9  # when a pose was last judged


def setup_hint(s: ScreenState, now: float) -> str:
    """The framing hint the start screen shows: setup_problem once it has held SETUP_SHOW_AFTER_S,
    taken back (or changed) once another reading has held SETUP_CLEAR_AFTER_S (a person out of
    view reads as none). Each pose is judged once, when it arrives."""
    hint = s.setup
    pose = (s.pose.seq, s.pose.t_capture_ns, id(s.pose)) if s.pose is not None else ()
    if pose != hint.pose:
        seen = setup_problem(s, hint.shown) if s.pose is not None and s.pose.keypoints else "setup.ok"
        # A reading held before a session (or any pause in judging) is not held through it.
        if seen != hint.seen or now - hint.at > SETUP_CLEAR_AFTER_S:
            hint.seen, hint.since = seen, now
        hint.pose, hint.at = pose, now
    wait = SETUP_CLEAR_AFTER_S if hint.seen == "setup.ok" else SETUP_SHOW_AFTER_S
    if hint.seen != hint.shown and now - hint.since >= wait:
        hint.shown = hint.seen
    return hint.shown


def setup_problem(s: ScreenState, shown: str = "setup.ok") -> str:
    """A plain instruction before a session: whole body in view, distance, light. A distance hint
    already `shown` stays until the person is DISTANCE_MARGIN past its threshold (hysteresis)."""
    # Every 4th pixel each way says as well how dark the room is, at 1/16 of the reading.
    if s.frame is not None and s.frame.pixels is not None and float(s.frame.pixels[::4, ::4].mean()) < 40:
        return "setup.too_dark"
    if s.a_class:
        # A class's people stand at several distances, and the newest Pose is whoever inference read
        # last (a passer-by too): telling "조금 앞으로 와 주세요" to one of them is telling it to no one.
        return "setup.ok"
    if s.pose is None or not s.pose.keypoints:
        return "setup.whole_body"
    common = to_common(s.pose.layout, s.pose.keypoints)
    needed = ["nose", "left_ankle", "right_ankle", "left_wrist", "right_wrist"]
    if min(common[COMMON_INDEX[n], 2] for n in needed) < 0.3:
        return "setup.whole_body"
    ys = common[common[:, 2] >= 0.3, 1]
    height_frac = (ys.max() - ys.min()) / max(s.pose.height, 1)
    if height_frac > TOO_CLOSE_ABOVE - (DISTANCE_MARGIN if shown == "setup.too_close" else 0.0):
        return "setup.too_close"
    if height_frac < TOO_FAR_BELOW + (DISTANCE_MARGIN if shown == "setup.too_far" else 0.0):
        return "setup.too_far"
    return "setup.ok"


# -- drawing helpers --------------------------------------------------------------------------
class PanelPicture:
    """A picture scaled (and mirrored, unless told not to) into buffers kept from one draw to the next.

    At 30 draws a second this was most of the renderer's cost: pygame's smoothscale over a fresh
    RGB copy of every frame. OpenCV's SIMD resize writes into a reused buffer and pygame reads
    its BGR bytes as they are (no colour conversion, no copy)."""

    def __init__(self):
        self._buffers: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._last: tuple | None = None  # (picture, size, flip, surface) of the last call

    def surface(self, bgr: np.ndarray, size: tuple[int, int], flip: bool = True) -> pygame.Surface:
        last = self._last
        if last is not None and last[0] is bgr and last[1:3] == (size, flip):
            return last[3]  # the same picture as the last draw (a video frame held): scaled already
        made = self._scaled(bgr, size, flip)
        self._last = (bgr, size, flip, made)
        return made

    def _scaled(self, bgr: np.ndarray, size: tuple[int, int], flip: bool) -> pygame.Surface:
        key = (bgr.shape, size)
        if key not in self._buffers:
            self._buffers.clear()  # one camera, one panel size at a time
            self._buffers[key] = (np.empty((size[1], size[0], 3), np.uint8), np.empty((size[1], size[0], 3), np.uint8))
        scaled, mirrored = self._buffers[key]
        cv2.resize(bgr, size, dst=scaled, interpolation=cv2.INTER_LINEAR)
        if not flip:
            return pygame.image.frombuffer(scaled.data, size, "BGR")
        cv2.flip(scaled, 1, dst=mirrored)
        return pygame.image.frombuffer(mirrored.data, size, "BGR")


# One screen per process: the buffers live as long as the renderer (none allocated at import).
_picture = PanelPicture()
_instructor_picture = PanelPicture()


@dataclass(frozen=True)
class DrawnText:
    """One text as drawn: what the legibility test measures (Fonts.drawn)."""
    words: str
    px: int
    color: tuple
    backing: tuple
    rect: pygame.Rect  # the words
    box: pygame.Rect  # their solid backing


def text(surface, fonts, s: str, size: float, pos, color=TEXT, anchor="topleft", backing=BACKGROUND) -> pygame.Rect:
    """`s` at `size` on a solid box of `backing`, the box placed by `anchor` at `pos`: words
    never sit on a picture or a limb. Returns the box (stack the next line under its bottom)."""
    img = fonts.render(s, size, color)
    pad = max(2, fonts.px(size) // 8)
    box = img.get_rect().inflate(2 * pad, 2 * pad)
    setattr(box, anchor, pos)  # the box is what is placed: stacked lines never overlap
    rect = img.get_rect(center=box.center)
    surface.fill(backing, box)
    surface.blit(img, rect)
    if fonts.drawn is not None:
        fonts.drawn.append(DrawnText(s, fonts.px(size), tuple(color), tuple(backing), rect, box))
    return box


def paragraph(surface, fonts, words: str, size: float, box: pygame.Rect, y: float, color=TEXT,
              backing=BACKGROUND, centered: bool = False) -> float:
    """`words` wrapped to `box`'s width from `y` down; returns the y under the last line."""
    for line in fonts.wrap(words, size, box.w):
        pos, anchor = ((box.centerx, y), "midtop") if centered else ((box.x, y), "topleft")
        y = text(surface, fonts, line, size, pos, color, anchor=anchor, backing=backing).bottom
    return y


def joint_colors(score: messages.Score | None) -> tuple[dict[str, tuple], dict[tuple, tuple]]:
    """Colour per keypoint and per limb from the joint statuses (worst end wins for a limb)."""
    point_status: dict[str, str] = {}
    for joint, status in (score.joint_status if score else {}).items():
        vertex = VERTEX_OF.get(joint)
        if vertex and RANK[status] >= RANK.get(point_status.get(vertex, "none"), 0):
            point_status[vertex] = status
    if "mid_hip" in point_status:
        point_status.setdefault("neck", point_status["mid_hip"])
    points = {n: STATUS_COLORS[st] for n, st in point_status.items()}
    limbs = {}
    for a, b in EDGES:
        ends = [point_status[n] for n in (a, b) if n in point_status]
        limbs[(a, b)] = STATUS_COLORS[max(ends, key=RANK.__getitem__)] if ends else UNSCORED_LIMB
    return points, limbs


def draw_skeleton(surface, common: np.ndarray, to_screen, points: dict, limbs: dict, width: int) -> None:
    for (a, b), color in limbs.items():
        pa, pb = common[COMMON_INDEX[a]], common[COMMON_INDEX[b]]
        if min(pa[2], pb[2]) >= 0.3:
            pygame.draw.line(surface, color, to_screen(pa), to_screen(pb), width)
    for name, i in COMMON_INDEX.items():
        p = common[i]
        if p[2] >= 0.3 and name not in ("left_eye", "right_eye", "left_ear", "right_ear"):
            pygame.draw.circle(surface, points.get(name, UNSCORED_LIMB), to_screen(p), int(width * 1.2))


def fit(src_w: float, src_h: float, box: pygame.Rect) -> tuple[float, float, float]:
    scale = min(box.w / src_w, box.h / src_h)
    return scale, box.x + (box.w - src_w * scale) / 2, box.y + (box.h - src_h * scale) / 2


def picture_rect(picture_w: int, picture_h: int, box: pygame.Rect) -> pygame.Rect:
    """Where a picture fitted into `box` lands, less a pixel at each edge (blit positions are
    truncated): the part of the box it surely covers."""
    scale, ox, oy = fit(picture_w, picture_h, box)
    return pygame.Rect(int(ox) + 1, int(oy) + 1, int(picture_w * scale) - 2, int(picture_h * scale) - 2)


def camera_covers(s: ScreenState, box: pygame.Rect) -> pygame.Rect | None:
    if s.frame is None or s.frame.pixels is None:
        return None
    return picture_rect(s.frame.pixels.shape[1], s.frame.pixels.shape[0], box)


def draw_camera(surface, s: ScreenState, box: pygame.Rect, width: int, fonts=None, judged: bool = True,
                people: bool = True, tags: bool = True, members: bool = True) -> list[tuple[str, pygame.Rect]]:
    """The participant's picture, mirrored as people expect, with the skeleton coloured by the
    verdict (uncoloured when not `judged`: no fresh verdict), over the panel the screen's still
    layer drew; without `people`, the picture alone; without `members`, a class's people who
    are no members only (neutral). Returns the class members' name tags
    [(words, box)], drawn unless not `tags` (the caller draws them clear of its own words)."""
    if s.frame is None or s.frame.pixels is None:
        return []
    shown = shown_frame(s, members)
    fh, fw = shown.pixels.shape[:2]
    scale, ox, oy = fit(fw, fh, box)
    picture = _picture.surface(shown.pixels, (int(fw * scale), int(fh * scale)))
    surface.blit(picture, (ox, oy))
    people = people_drawn(s, shown, members) if people else []
    heads = []
    clip = surface.get_clip()
    surface.set_clip(box)  # a hand raised out of the picture is not drawn over the panel's label
    try:
        for spot, pose, score in people:
            # Points out of the picture are not drawn; a joint not seen is grey (joint_colors).
            common = flip_x(in_view(to_common(pose.layout, pose.keypoints), pose.width, pose.height)[0], pose.width)
            sx, sy = scale * fw / max(pose.width, 1), scale * fh / max(pose.height, 1)
            points, limbs = joint_colors(score if judged else None)
            draw_skeleton(surface, common, lambda p: (int(ox + p[0] * sx), int(oy + p[1] * sy)), points, limbs, width)
            seen = common[common[:, 2] >= 0.3]
            if spot and len(seen):
                heads.append((spot, ox + float(np.median(seen[:, 0])) * sx, oy + float(seen[:, 1].min()) * sy))
    finally:
        surface.set_clip(clip)
    if not heads or fonts is None:
        return []
    placed = place_name_tags(fonts, s, heads, picture_rect(fw, fh, box))
    if tags:
        draw_name_tags(surface, fonts, placed)
    return placed


def people_drawn(s: ScreenState, shown=None, members: bool = True) -> list:
    """[(spot, Pose, Score or None)] whose skeletons the picture shows: a class's members of the
    newest frame (not when `members` is false), then the people read who are no members (yet),
    with spot 0 and no Score (neutral, no name: someone starting the routine is seen before their
    spot comes; the TV said nobody follows while a jumper was mid-jack), else one person's newest
    Pose with its Score. In a class
    the newest Pose drawn as one person's put a walker's skeleton, in the member's verdict colours,
    on the TV of a recorded class before its member's first Score and between his frames
    (two_people_sports2d, run --once in group mode). In a class a member is drawn on the picture
    (`shown`, shown_frame) their Pose was read from, or on the newest when the TV never got theirs
    (pictures come latest-only) and it is under MEMBER_STALE_FRAMES older; never an older Pose: one
    lay on empty grass where the member had been, at a loop of that clip."""
    if s.people or s.a_class:
        own = shown.frame_id if shown is not None else None
        newest = s.frame.frame_id if s.frame is not None else own

        def on_picture(pose) -> bool:
            return (own is None or not s.a_class or pose.frame_id == own
                    or (own == newest and 0 <= newest - pose.frame_id < MEMBER_STALE_FRAMES))
        drawn = [(k, s.people[k], s.people_scores.get(k)) for k in sorted(s.people)
                 if members and on_picture(s.people[k])]
        return drawn + [(0, pose, None) for k, pose in sorted(s.candidates.items())
                        if k not in s.track_spots and pose.keypoints and on_picture(pose)]
    return [(0, s.pose, s.score)] if s.pose is not None and s.pose.keypoints else []


# A class member's Pose this many camera frames older than the picture is not drawn on it (0.4 s at
# 30 fps: someone exercising in place has hardly moved; as many frames as the renderer keeps).
MEMBER_STALE_FRAMES = 12


def shown_frame(s: ScreenState, members: bool = True):
    """The picture the skeletons drawn were read from (so a walking person's skeleton is on their
    body, not where they were a moment later): the frame of the newest Pose while it is kept and
    its pixels are still its own, else the newest frame. A class's members' Pose when they are
    drawn, else the newest of those who are no members (a looking screen drew none of them: its
    picture was the last member's, lost a moment ago)."""
    others = max(s.candidates.values(), key=lambda p: p.frame_id, default=None) if s.a_class else None
    pose = next(iter(s.people.values()), None) if s.people and members else others or s.pose
    kept = s.recent_frames.get(pose.frame_id) if pose is not None and pose.keypoints else None
    if kept is None or kept.pixels is None or (s.holds is not None and not s.holds(kept)):
        return s.frame
    return kept


def spot_label(s: ScreenState, spot: int) -> str:
    """A class member's name on the TV: the participant's name, else the spot's ("1번")."""
    key = s.people_names.get(spot, "")
    if key and not key.startswith("spot-"):
        return s.participant_names.get(key, key)
    return spot_name(spot, locale=s.texts.get("_locale", "ko"))


def place_name_tags(fonts, s: ScreenState, heads: list, picture: pygame.Rect) -> list[tuple[str, pygame.Rect]]:
    """Each person's name and repetitions over their head, in rows that start just above the
    highest head: a tag goes over its person where the row is free, else as near right of the
    one before as fits, else onto the next row; none leaves the picture or covers another.
    Returns [(words, the tag's box)]."""
    pad = max(2, fonts.px(BODY) // 8)
    tags, placed = [], []
    for spot, x, top in sorted(heads, key=lambda hd: hd[1]):
        score = s.people_scores.get(spot)
        words = f"{spot_label(s, spot)} · {score.reps if score else 0}{s.t('exercise.reps_unit')}"
        tag_w, tag_h = (v + 2 * pad for v in fonts.get(BODY).size(words))
        tags.append((words, x, tag_w, tag_h))
    tag_h = max(t[3] for t in tags)
    y0 = min(max(picture.y, min(top for _, _, top in heads) - tag_h * 1.2), picture.bottom - tag_h)
    rows: list[float] = []  # each row's right edge so far
    for words, x, tag_w, _ in tags:
        wanted = min(max(picture.x, x - tag_w / 2), picture.right - tag_w)
        row = 0
        while True:
            if row == len(rows):
                rows.append(picture.x)
            left = max(wanted, rows[row])
            if left + tag_w <= picture.right:
                break
            row += 1
        y = min(y0 + row * tag_h, picture.bottom - tag_h)
        tag = pygame.Rect(round(left), round(y), tag_w, tag_h)
        placed.append((words, tag))
        rows[row] = tag.right + pad
    return placed


def draw_name_tags(surface, fonts, placed: list[tuple[str, pygame.Rect]]) -> None:
    for words, tag in placed:
        text(surface, fonts, words, BODY, tag.topleft, TEXT, backing=PANEL)


def clear_of(boxes: list[pygame.Rect], inside: pygame.Rect, y: float, height: float) -> float | None:
    """Where a block of words `height` tall, wanted at `y` across `inside`, covers none of
    `boxes` (a class's name tags): at `y` if free, else just under or over a tag, else at the
    bottom or top of `inside`, the nearest free place to `y`; None when none is free."""
    gap = 4
    wanted = [y] + [b.bottom + gap for b in boxes] + [b.top - gap - height for b in boxes] + \
        [inside.bottom - height, inside.top]
    free = [c for c in wanted if inside.top <= c and c + height <= inside.bottom
            and not any(b.colliderect(pygame.Rect(inside.x, round(c), inside.w, math.ceil(height))) for b in boxes)]
    return min(free, key=lambda c: abs(c - y)) if free else None


def reference_pose(routine: Routine, t: float) -> np.ndarray | None:
    """The recorded instructor keypoints (routine built from a video) nearest before t, in
    body heights around the mid-hip, or None for routines written as angles only."""
    kf = routine.keyframes[routine.keyframe_at(t)]
    return np.asarray(kf.keypoints, dtype=float) if kf.keypoints else None


def instructor_figure(routine: Routine, t: float) -> tuple[np.ndarray, np.ndarray]:
    """The drawn instructor at routine time t: keypoints (x, y, score) with the feet at y = 0,
    mirrored like the participant's picture, and whether each keypoint is on the far side.

    The recorded reference pose when the routine was built from a video; else a figure posed
    from the target angles, turned when the routine is seen from the side (a squat drawn from
    the front only looks shorter)."""
    recorded = reference_pose(routine, max(t, 0.0))
    far = np.zeros(len(COMMON_INDEX), bool)
    if recorded is not None:
        common = recorded.copy()
        common[:, :2] *= 400.0  # body heights -> the synthetic figure's pixel scale
        seen = common[:, 2] >= 0.3
        if seen.any():
            common[:, 1] -= common[seen, 1].max()  # feet on the floor line
    else:
        yaw = SIDE_VIEW_YAW_DEG if routine.view == "side" else 0.0
        xyz = pose3d(routine.target(max(t, 0.0)), center_x=0.0, floor_y=0.0, yaw_deg=yaw)
        common = np.concatenate([xyz[:, :2], np.ones((len(xyz), 1))], axis=1)
        if yaw:
            far = xyz[:, 2] > xyz[COMMON_INDEX["mid_hip"], 2]
    # Mirrored, like the participant's picture beside it: moving like the figure, as in a
    # mirror, is what the routine scores.
    common[:, 0] *= -1
    return common, far


def draw_instructor(surface, s: ScreenState, box: pygame.Rect, t: float, width: int) -> None:
    """The instructor: their own video at routine time t when the routine has one, else the
    drawn figure (instructor_figure), over the panel the screen's still layer drew."""
    picture = s.footage.frame_at(max(t, 0.0)) if s.footage is not None else None
    if picture is not None:
        draw_instructor_video(surface, s, picture, box, t, width)
        return
    common, far = instructor_figure(s.routine, t)
    span_y = 460.0
    scale = box.h * 0.85 / span_y
    cx, floor = box.centerx, box.bottom - box.h * 0.06
    to_screen = lambda p: (int(cx + p[0] * scale), int(floor + p[1] * scale))  # noqa: E731
    # The far side first and darker, so the near limbs are drawn over it: depth at a glance.
    limbs = {e: INSTRUCTOR_FAR if far[COMMON_INDEX[e[0]]] and far[COMMON_INDEX[e[1]]] else INSTRUCTOR_BLUE
             for e in EDGES}
    limbs = dict(sorted(limbs.items(), key=lambda kv: kv[1] == INSTRUCTOR_BLUE))
    draw_skeleton(surface, common, to_screen, {}, limbs, int(width * 1.4))
    head = common[COMMON_INDEX["nose"]]
    if head[2] >= 0.3:
        pygame.draw.circle(surface, INSTRUCTOR_BLUE, to_screen(head), int(28 * scale * 1.2))


def draw_instructor_video(surface, s: ScreenState, picture: np.ndarray, box: pygame.Rect, t: float,
                          width: int) -> None:
    ph, pw = picture.shape[:2]
    scale, ox, oy = fit(pw, ph, box)
    size = (int(pw * scale), int(ph * scale))
    # Flipped unless the class follows the instructor as in a mirror (routine.mirror): then the
    # side the senior should move is on the same side of the screen in both panels.
    flipped = not s.routine.mirror
    surface.blit(_instructor_picture.surface(picture, size, flip=flipped), (ox, oy))
    kf = s.routine.keyframes[s.routine.keyframe_at(max(t, 0.0))]
    if not (s.instructor_skeleton and kf.keypoints and kf.anchor):
        return
    # The recorded keypoints (body heights around the mid-hip) back onto the video's pixels.
    hip_x, hip_y, body_h = kf.anchor
    common = np.asarray([p if p is not None else [0.0, 0.0, 0.0] for p in kf.keypoints], dtype=float)
    xs = (hip_x * pw + common[:, 0] * body_h * ph) * scale
    xs = size[0] - xs if flipped else xs
    ys = (hip_y * ph + common[:, 1] * body_h * ph) * scale
    placed = np.stack([ox + xs, oy + ys, common[:, 2]], axis=1)
    draw_skeleton(surface, placed, lambda p: (int(p[0]), int(p[1])), {}, INSTRUCTOR_LIMBS, width)


def exercise_panels(w: int, h: int) -> tuple[pygame.Rect, pygame.Rect]:
    """The instructor's panel (left) and the participant's (right) on the exercise screens."""
    m = round(h * MARGIN)
    top, bottom = round(h * 0.155), round(h * 0.745)
    left = pygame.Rect(m, top, w // 2 - m - m // 2, bottom - top)
    return left, pygame.Rect(w // 2 + m // 2, top, left.w, left.h)


def picture_box(panel: pygame.Rect, h: int) -> pygame.Rect:
    """Where a panel's picture goes: under the band that holds the panel's label."""
    band = round(h * BODY * 1.5)
    return pygame.Rect(panel.x, panel.y + band, panel.w, panel.h - band)


def strip_rect(w: int, h: int) -> pygame.Rect:
    """The accuracy strip under the two panels of the exercise screen."""
    m = round(h * MARGIN)
    return pygame.Rect(m, round(h * 0.76), w - 2 * m, max(6, round(h * 0.02)))


def summary_strip_rect(w: int, h: int) -> pygame.Rect:
    """The whole session's strip on the summary screen."""
    return pygame.Rect(round(w * 0.08), round(h * 0.69), round(w * 0.84), max(8, round(h * 0.03)))


def strip_cell(box: pygame.Rect, second: int, seconds: int) -> pygame.Rect:
    x0 = box.x + box.w * second // seconds
    return pygame.Rect(x0, box.y, max(1, box.x + box.w * (second + 1) // seconds - x0), box.h)


def strip_color(code: str) -> tuple:
    return STRIP_UNSCORED if code in (UNSCORED, PENDING) else STATUS_COLORS[VERDICT_OF[code]]


def draw_strip(surface, codes: str, seconds: int, box: pygame.Rect) -> None:
    """One cell per second of the routine, filled as the session passes it. Each run of equal
    seconds is one rectangle: a half-hour routine is 1800 cells, drawn 30 times a second. Seconds
    not judged yet (PENDING) are a thin grey bar along the middle."""
    pygame.draw.rect(surface, PANEL, box)
    seconds = max(seconds, len(codes), 1)
    for run in re.finditer(r"(.)\1*", codes):
        first, last = strip_cell(box, run.start(), seconds), strip_cell(box, run.end() - 1, seconds)
        cells = first.union(last)
        if run.group(1) == PENDING:
            cells = cells.inflate(0, -cells.h * 2 // 3)
        pygame.draw.rect(surface, strip_color(run.group(1)), cells)


def live_strip(s: ScreenState, t: float) -> str:
    """The exercise screen's strip of a single routine at routine time t: the score's own judgement
    (Score.judged_strip, what the summary's strip will be), and every second passed that it has not
    judged yet, the trailing ones it leaves '-' included, PENDING. So the strip and the score are one
    judgement: no second is red or yellow on the way and green in the summary."""
    judged = s.judged_strip if s.session is not None and s.judged_strip_session == s.session.session_id else ""
    kept = judged.rstrip(UNSCORED)
    passed = min(max(0, math.ceil(t)), routine_seconds(s.routine), MAX_SECONDS)
    return kept + PENDING * max(0, passed - len(kept))


def routine_seconds(routine: Routine) -> int:
    return max(1, math.ceil(routine.duration_s))


def routine_title(s: ScreenState) -> str:
    # Never a file name: a routine without a title in this language is called by a plain word.
    return s.routine.title.get(s.texts.get("_locale", "ko")) or s.t("routine.untitled")


def line_width(h: int) -> int:
    """Skeleton lines: thick enough to read from the sofa."""
    return max(4, h // 120)


def draw_top_bar(surface, fonts, s: ScreenState, w: int, h: int) -> None:
    m = round(h * MARGIN)
    title = routine_title(s)
    text(surface, fonts, title, CUE, (m, h * 0.015))
    if s.score is not None:
        if not s.people_scores:  # a class's numbers are on each person's tag
            text(surface, fonts, f"{s.t('exercise.reps')} {s.score.reps}", CUE, (w * 0.76, h * 0.015), anchor="topright")
            # Before anything is judged (no whole repetition yet) there is no score: a dash, not a
            # discouraging 0 beside green.
            unjudged = not s.score.scored or (s.score.reps == 0 and s.score.score == 0)
            shown = "–" if unjudged else f"{s.score.score:.0f}"
            text(surface, fonts, f"{s.t('exercise.score')} {shown}", CUE, (w - m, h * 0.015), anchor="topright")
        bar = pygame.Rect(m, round(h * 0.125), w - 2 * m, max(4, round(h * 0.012)))
        pygame.draw.rect(surface, PANEL, bar, border_radius=8)
        done = bar.copy()
        done.w = int(bar.w * max(0.0, min(1.0, s.score.progress)))
        pygame.draw.rect(surface, INSTRUCTOR_BLUE, done, border_radius=8)


# What the TV says of an alert for each word the central side sent (messages.Delivery.result).
ALERT_NEWS = {"stored": "alert.at_center", "duplicate": "alert.at_center", "notified": "alert.carer_told",
              "rejected": "alert.not_sent"}


def alert_news(s: ScreenState) -> str:
    """What really happened to the alert, as far as the TV has heard (never more): sending,
    at the centre, a carer told, or not sent."""
    return ALERT_NEWS.get(s.alert_delivery, "alert.sending")


def footer_note(s: ScreenState) -> str:
    """The footer's words: empty while all is well (the senior needs no fps or model names);
    in plain words what is unusual otherwise."""
    if s.paused:
        return s.t("status.paused")
    if s.backend == "sim":
        return s.t("status.sim")
    if s.cpu_fallback:
        return s.t("status.cpu_fallback")
    if reading_slowly(s):
        return s.t("status.slow_reading").format(n=max(1, round(s.fps)))
    return ""


def reading_slowly(s: ScreenState) -> bool:
    """Inference reads fewer pictures a second than a session's count can be trusted at
    (FEWEST_POSES_PER_S) while the camera gives more: the box is too busy. Under load (3-6 a
    second) a jumper was drawn on none of ~30 screens and only the log said why."""
    camera = s.health.get("camera")
    camera_fps = camera.fps if camera is not None and camera.fps > 0 else float("inf")
    return 0 < s.fps < FEWEST_POSES_PER_S and camera_fps > s.fps * 1.5


# Someone read in a class who is no member yet moved a limb this share of their own height (the
# spread of their seen keypoints), against their own middle, within MOVED_WITHIN_S: they are
# moving, maybe starting the routine (a passer-by's stride too), so the TV does not say nobody
# follows. Standing still, a reading's own jitter is a few hundredths of the height; a squat, a
# raise or a jack moves a knee or a hand a third of it and more.
MOVED_SHARE = 0.1
MOVED_WITHIN_S = 1.5


def note_candidate(s: ScreenState, pose: messages.Pose, now: float) -> None:
    """A class's Pose of someone who is not (yet) a member: drawn (people_drawn), and whether they
    are moving (candidate_moved_at, at `now`, the TV's clock)."""
    common = to_common(pose.layout, pose.keypoints)
    seen = common[:, 2] >= 0.3
    s.candidates[pose.track] = pose
    if seen.sum() < 4:
        return
    t = pose.t_capture_ns / 1e9
    height = float(np.ptp(common[seen, 1]))
    relative = common[:, :2] - np.median(common[seen, :2], axis=0)
    path = s.candidate_paths.setdefault(pose.track, [])
    path[:] = [p for p in path if 0 <= t - p[0] <= MOVED_WITHIN_S]
    for _, before, was_seen, was_height in path:
        both = seen & was_seen
        if both.any() and float(np.hypot(*(relative[both] - before[both]).T).max()) > MOVED_SHARE * max(height, was_height):
            s.candidate_moved_at = now
            break
    path.append((t, relative, seen, height))


def getting_ready(s: ScreenState, now: float) -> bool:
    """In a class, someone who is no member yet is in view and moving (note_candidate)."""
    return s.a_class and now - s.candidate_moved_at <= LOOKING_AFTER_S


def message_screen(surface, fonts, lines: list[tuple[str, float]], w: int, h: int,
                   backing=BACKGROUND) -> None:
    """A screen that is only words: each (words, size) wrapped and centred, the block in the middle."""
    column = pygame.Rect(round(w * 0.1), 0, round(w * 0.8), h)
    heights = [len(fonts.wrap(words, size, column.w)) * (fonts.get(size).get_linesize() + fonts.px(size) / 4)
               for words, size in lines]
    y = h / 2 - sum(heights) / 2 - h * MARGIN * (len(lines) - 1) / 2
    for words, size in lines:
        y = paragraph(surface, fonts, words, size, column, y, backing=backing, centered=True) + h * MARGIN


def draw(surface: pygame.Surface, fonts, s: ScreenState, now: float, kept: KeptRegions | None = None) -> str:
    """Draw the screen for `now` (monotonic s); returns the screen's name. With `kept` (the
    renderer's, from one draw to the next) only the regions whose content changed are painted
    again; the picture is the same as a whole draw's."""
    w, h = surface.get_size()
    screen = which_screen(s, now)
    layers = screen_layers(fonts, s, screen, now, w, h)
    if layers is not None:
        if kept is None:
            layers.paint_whole(surface)
        else:
            kept.paint(surface, layers)
        return screen
    if kept is not None:
        kept.forget()
    surface.fill(ALERT_BG if screen == "alert" else QUESTION_BG if screen == "fall_check" else BACKGROUND)
    if screen == "fall_check":  # big words, one thing to do, and how long until the carer is called
        message_screen(surface, fonts, [(s.t("fall_check.title"), HEADING), (s.t("fall_check.body"), CUE),
                                        (s.t("fall_check.countdown").format(n=question_left(s, now)), CUE),
                                        (s.t("fall_check.remote"), BODY)], w, h, QUESTION_BG)
    elif screen == "alert":
        message_screen(surface, fonts, [(s.t("alert.title"), HEADING), (s.t("alert.body"), CUE),
                                        (s.t(alert_news(s)), CUE)], w, h, ALERT_BG)
    elif screen in ("camera_lost", "camera_starting"):
        key = "camera.lost" if screen == "camera_lost" else "camera.starting"
        message_screen(surface, fonts, [(s.t(key), CUE)], w, h)
    elif screen == "summary" and not s.people_results and isinstance(s.session.summary.get("parts"), list) \
            and score_withheld(s.session.summary, fall_in_session(s, s.session.summary)) in ("", "idle"):
        # One person's program, movement by movement (each rested one said so). A class's (even of one
        # member) is the class's: the session on screen is then the last member's end, whose summary has
        # parts too. One cut short by a fall, or read too sparsely, has no movement's score or count that
        # is the person's exercise: draw_summary says why, as for one routine.
        draw_program_summary(surface, fonts, s, w, h)
    elif screen == "summary":
        draw_summary(surface, fonts, s, w, h)
    elif screen == "rest":
        draw_rest(surface, fonts, s, now, w, h)
    if screen not in ("alert", "fall_check"):
        draw_footer(surface, fonts, s)
    return screen


def question_left(s: ScreenState, now: float) -> int:
    """Whole seconds left on the open question's countdown, as the TV shows them."""
    return max(0, math.ceil(s.question.countdown_s - (now - s.question_at))) if s.question is not None else 0


def draw_footer(surface, fonts, s: ScreenState) -> None:
    """Unless all is well, the footer's words, over whatever reaches down to them."""
    w, h = surface.get_size()
    note = footer_note(s)
    bottom = h - round(h * MARGIN)
    for line in reversed(fonts.wrap(note, BODY, round(w * 0.9)) if note else []):  # a long note: lines upward
        bottom = text(surface, fonts, line, BODY, (w / 2, bottom), HIGHLIGHT, anchor="midbottom").top


@dataclass
class Region:
    """A part of the screen painted on its own: `paint(surface)` draws within `rect` only, and
    equal `content` paints equal pixels. `covered`: a part of `rect` every paint fills (a
    picture), which the still layer need not be put back under first."""
    rect: pygame.Rect
    content: tuple
    paint: Callable[[pygame.Surface], None]
    covered: pygame.Rect | None = None

    def uncovered(self) -> list[pygame.Rect]:
        """`rect` without `covered`: at most four bands around it."""
        r, c = self.rect, self.covered.clip(self.rect) if self.covered is not None else None
        if not c:
            return [r]
        bands = [pygame.Rect(r.x, r.y, r.w, c.y - r.y), pygame.Rect(r.x, c.bottom, r.w, r.bottom - c.bottom),
                 pygame.Rect(r.x, c.y, c.x - r.x, c.h), pygame.Rect(c.right, c.y, r.right - c.right, c.h)]
        return [b for b in bands if b.w > 0 and b.h > 0]


@dataclass
class Layers:
    """A screen as what stays while it is shown (`layout`, painted by `paint_still`: colour,
    panels, labels, footer) and the regions over it that change with the camera and the clock."""
    layout: tuple
    paint_still: Callable[[pygame.Surface], None]
    regions: dict[str, Region]

    def paint_whole(self, surface: pygame.Surface) -> None:
        self.paint_still(surface)
        for region in self.regions.values():
            clipped(surface, region.rect, region.paint)


def clipped(surface: pygame.Surface, rect: pygame.Rect, paint: Callable[[pygame.Surface], None]) -> None:
    """Paint with everything outside `rect` left as it is (a raised hand, a long word)."""
    clip = surface.get_clip()
    surface.set_clip(rect)
    try:
        paint(surface)
    finally:
        surface.set_clip(clip)


class KeptRegions:
    """What the renderer's surface holds, region by region, so that a draw paints only what
    changed. At 30 draws a second, painting the whole exercise screen (panels with rounded
    corners, labels, bar, strip) cost more than the camera picture itself; now a camera frame
    repaints the participant's picture, the clock the instructor's, a Score the numbers it moved.
    `changed` lists the rectangles the last draw painted (the display updates only those)."""

    def __init__(self):
        self.layout: tuple | None = None
        self.still: pygame.Surface | None = None  # the layout's still parts, to paint a region over
        self.content: dict[str, tuple] = {}
        self.changed: list[pygame.Rect] | None = None  # None: the whole screen

    def forget(self) -> None:
        self.layout, self.content, self.changed = None, {}, None

    def paint(self, surface: pygame.Surface, layers: Layers) -> None:
        size = surface.get_size()
        whole = (layers.layout, size) != self.layout
        if whole:
            if self.still is None or self.still.get_size() != size:
                self.still = pygame.Surface(size, 0, surface)
            layers.paint_still(self.still)
            surface.blit(self.still, (0, 0))
            self.layout, self.content, self.changed = (layers.layout, size), {}, None
        else:
            self.changed = []
        for name, region in layers.regions.items():
            if self.content.get(name) == region.content:
                continue
            if not whole:  # the still layer back under the region (it was just put down whole otherwise)
                for band in region.uncovered():
                    surface.blit(self.still, band, area=band)
                self.changed.append(region.rect)
            clipped(surface, region.rect, region.paint)
            self.content[name] = region.content


def screen_layers(fonts, s: ScreenState, screen: str, now: float, w: int, h: int) -> Layers | None:
    """The screens that follow the camera or the clock, as layers; None for the others (alert,
    camera lost, summary), which change seldom and are drawn whole."""
    if screen in MOVING_SCREENS:
        return exercise_layers(fonts, s, screen, routine_time(s, now), w, h, instructor_time(s, now),
                               fresh_score(s, now) is not None, getting_ready(s, now))
    if screen in ("start", "setup"):
        return start_layers(fonts, s, screen, w, h, getting_ready(s, now))
    return None


def start_hint(s: ScreenState, screen: str) -> str:
    """The start screen's last line. After a one-person session whoever stays in view does not
    start another by standing there (common/coach/session.py StayGate), so "we start as soon as
    your whole body is in view" would be untrue: it says how to go again instead."""
    if screen == "setup":
        return s.setup.shown
    if s.a_class:  # how a class is joined: nobody starts it by standing in view
        return "class.again" if s.class_over else "class.spots"
    stayed = (s.session is not None and s.session.event == "end" and not s.people
              and s.pose is not None and bool(s.pose.keypoints))
    return "start.again" if stayed else "start.will_begin"


def start_layers(fonts, s: ScreenState, screen: str, w: int, h: int, ready: bool = False) -> Layers:
    """Before a session: the routine, what to do and its safety advice on the left (also spoken:
    speak()); the camera's picture and who is exercising on the right (`ready`: a class's someone
    who is no member yet is moving, getting_ready)."""
    m = round(h * MARGIN)
    line_w = line_width(h)
    camera = pygame.Rect(w // 2 + m, round(h * 0.06), w // 2 - 2 * m, round(h * 0.56))
    locale = s.texts.get("_locale", "ko")
    hint = start_hint(s, screen)
    name = s.participant_names.get(s.participant) or s.t("start.guest")
    # A class says it is one: how to join, and who has joined (by spot; before it starts nobody),
    # never one person's "참여자: 손님" nor the remote's choice of who is exercising.
    # A class that is over says so: going on exercising joins nothing until the remote's start or
    # the room emptied (services/scoring.py ClassSessions.stay), so "follow along" would be untrue.
    invite = s.t("class.over" if s.class_over else "class.join") if s.a_class else s.t("start.stand_in_front")
    who = class_joined(s, ready) if s.a_class else f"{s.t('start.participant')}: {name}"
    choosing = len(s.participant_names) > 1 and not s.a_class
    title, about = routine_title(s), s.routine.description.get(locale, "")
    if s.program is not None:  # a program: its title, how many movements and how long, and the remote's skip
        title = program_title(s)
        about = s.t("program.about").format(n=len(s.program.parts), minutes=max(1, round(s.program.duration_s / 60))) \
            + " " + s.t("program.skip_hint")

    def still(surface) -> None:
        surface.fill(BACKGROUND)
        pygame.draw.rect(surface, PANEL, camera, border_radius=16)
        column = pygame.Rect(2 * m, 0, w // 2 - 3 * m, h)
        if s.program is not None:  # a program's title (up to 60 letters) in two lines at most
            y = h * 0.05
            for line in wrapped(fonts, title, HEADING, column.w, 2):
                y = text(surface, fonts, line, HEADING, (column.x, y)).bottom
        else:
            y = paragraph(surface, fonts, title, HEADING, column, h * 0.05)
        y = paragraph(surface, fonts, about, BODY, column, y + m, MUTED)
        y = paragraph(surface, fonts, invite, CUE, column, y + m)
        # With a footer note the last line goes under who is exercising (the left column reaches
        # down to the footer: a busy box's note was drawn over the class's hint).
        noted = bool(footer_note(s))
        if not noted:
            paragraph(surface, fonts, s.t(hint), BODY, column, y + m / 2, HIGHLIGHT)
        right = pygame.Rect(camera.x, 0, camera.w, h)
        y = paragraph(surface, fonts, who, BODY, right, camera.bottom + m)
        if choosing:
            y = paragraph(surface, fonts, s.t("start.change_participant"), BODY, right, y, MUTED)
        if noted:
            paragraph(surface, fonts, s.t(hint), BODY, right, y + m / 2, HIGHLIGHT)
        draw_footer(surface, fonts, s)

    layout = ("start", screen, title, about, locale, hint, invite, who, choosing, footer_note(s))
    return Layers(layout, still, {
        # Nobody is judged outside a session: the skeleton is neutral, never the last session's colours.
        # A class's start draws no member: no one is one before it starts, and an ended class's
        # members are members no more; the people read are drawn neutral (someone starting to follow).
        "camera": Region(camera, camera_content(s, judged=False),
                         lambda surface: draw_camera(surface, s, camera, line_w, judged=False,
                                                     people=not (s.a_class and s.class_over), members=not s.a_class),
                         camera_covers(s, camera))})


def class_joined(s: ScreenState, ready: bool = False) -> str:
    """Who has joined the class on screen, by spot ("참여하신 분: 1번, 김영희"), "아직 없음" before anyone,
    "준비 중" before anyone while someone in view is moving (`ready`, getting_ready): the members
    whose sessions run."""
    running = s.session is not None and s.session.event == "start" and s.session.class_id
    spots = sorted(s.class_running) if running else []
    nobody = s.t("class.getting_ready_who" if ready else "class.nobody_yet")
    return s.t("class.joined").format(who=", ".join(spot_label(s, k) for k in spots) if spots else nobody)


def camera_content(s: ScreenState, judged: bool = True) -> tuple:
    """What the participant's picture shows: the frame, the pose over it and its colours."""
    frame = (s.frame.seq, s.frame.t_capture_ns) if s.frame is not None else None
    pose = (s.pose.seq, s.pose.t_capture_ns) if s.pose is not None else None
    statuses = tuple(sorted(s.score.joint_status.items())) if s.score is not None and judged else ()
    people = tuple((k, p.seq, s.people_scores[k].seq if k in s.people_scores else -1) for k, p in sorted(s.people.items()))
    candidates = tuple((k, p.seq) for k, p in sorted(s.candidates.items()))
    return frame, pose, statuses, people, candidates


def exercise_layers(fonts, s: ScreenState, screen: str, t: float, w: int, h: int, shown_t: float | None = None,
                    fresh: bool = True, ready: bool = False) -> Layers:
    """The instructor (left) at `shown_t` (instructor_time: the moment the person is judged
    against; the routine clock t when not given) and the participant (right), the strip, and one
    cue under them. Without a `fresh` verdict the skeleton is not coloured and nobody is praised.
    `ready`: in a class someone who is no member yet is moving (getting_ready): not "nobody follows".
    Messages of the countdown and of a missing person go inside the participant's panel."""
    shown_t = t if shown_t is None else shown_t
    left, right = exercise_panels(w, h)
    pad = round(h * BODY / 4)
    line_w = line_width(h)
    locale = s.texts.get("_locale", "ko")
    you, instructor = picture_box(right, h), picture_box(left, h)
    inside = you.inflate(-4 * pad, -4 * pad)
    strip = strip_rect(w, h)

    part = part_of(s)

    def still(surface) -> None:
        surface.fill(BACKGROUND)
        for panel, label in ((left, "exercise.instructor"), (right, "class.you" if s.a_class else "exercise.you")):
            pygame.draw.rect(surface, PANEL, panel, border_radius=16)
            band = picture_box(panel, h).y - panel.y
            box = text(surface, fonts, s.t(label), BODY, (panel.x + 2 * pad, panel.y + band // 2), MUTED, "midleft", PANEL)
            if part >= 0 and panel is right:  # in a program: what comes after this movement (the short label's band)
                draw_next_label(surface, fonts, s, panel, panel.y + band // 2, pad, box)
        draw_footer(surface, fonts, s)

    # A person who stops during a program's part is resting, not wrong: no colours then.
    resting_ok = s.score is not None and s.score.guidance in CALM_GUIDANCE

    def participant(surface) -> None:
        # A class's looking screen: no member seen for LOOKING_AFTER_S, so none is drawn where they
        # were; the people read who are no members are (neutral).
        tags = draw_camera(surface, s, you, line_w, fonts, judged=fresh and not resting_ok,
                           members=not (s.a_class and screen == "looking"), tags=False)
        words = []  # the panel's message over the picture: (words, size, colour), each line
        if screen == "countdown":
            words = [(line, CUE, TEXT) for line in fonts.wrap(s.t("countdown.get_ready"), CUE, inside.w)]
            if remaining:
                words.append((str(remaining), KEY, TEXT))
        elif screen == "looking":  # in a program, someone who stepped away may be resting: that is all right
            looking = REST_OK if part >= 0 else ("class.getting_ready" if ready else "class.looking") if s.a_class \
                else "lost.looking"
            words = [(line, CUE, HIGHLIGHT) for line in fonts.wrap(s.t(looking), CUE, inside.w)]
        # Never over a member's tag: the words go where no tag is (anywhere on the picture, not only
        # inside its margin), in one line at the words' size if the countdown's big number finds no
        # room (a class of three close together: two rows of tags); a tag is left out only where
        # no place is free of them all.
        wanted = you.y + you.h * (0.2 if screen == "countdown" else 0.3)
        y, boxes = wanted, [tag for _, tag in tags]
        for tried in ([words, [(line, CUE, color) for line in fonts.wrap(" ".join(w for w, _, _ in words), CUE, inside.w)
                               for color in (words[0][2],)]] if words and boxes else [words]):
            heights = [fonts.render(line, size, color).get_height() + 2 * max(2, fonts.px(size) // 8)
                       for line, size, color in tried]
            tall = sum(heights) + pad * (len(tried) > 1)  # the countdown's number sits pad under its words
            free = clear_of(boxes, you, wanted, tall) if boxes else wanted
            words, y = tried, free if free is not None else wanted
            if free is not None:
                break
        block = pygame.Rect(inside.x, round(y), inside.w, math.ceil(tall)) if words else None
        draw_name_tags(surface, fonts, [(w, tag) for w, tag in tags if block is None or not tag.colliderect(block)])
        for line, size, color in words:
            if size == KEY:
                y += pad
            y = text(surface, fonts, line, size, (inside.centerx, y), color, "midtop", PANEL).bottom

    remaining = max(0, math.ceil(-t)) if screen == "countdown" else 0
    cue = ""
    guidance = class_guidance(s) if s.people_scores else (s.score.guidance if s.score and fresh else "")
    if screen == "exercise":
        # Praise only for a fresh verdict that is green: not for a hidden body, nor a stale verdict.
        praised = fresh and (bool(s.people_scores) or (s.score is not None and s.score.verdict == "correct"))
        cue = cue_text(s, guidance) if guidance else s.t("exercise.good") if praised else ""
    cue_color = TEXT if guidance in CALM_GUIDANCE else HIGHLIGHT if guidance else STATUS_COLORS["correct"]
    seconds, codes = routine_seconds(s.routine), live_strip(s, t)
    if part >= 0:  # the strip is the session's: the whole program's seconds (its frames' verdicts)
        seconds, codes = max(1, math.ceil(s.program.duration_s)), s.timeline.codes()
    # The top bar as drawn: a Score that moves none of its numbers repaints nothing.
    numbers = (s.score.reps, f"{s.score.score:.0f}", int((w - 2 * round(h * MARGIN)) * max(0.0, min(1.0, s.score.progress)))) \
        if s.score is not None else None

    def cue_line(surface) -> None:
        if cue:
            text(surface, fonts, cue, CUE, (w / 2, h * 0.79), cue_color, anchor="midtop")

    if part >= 0:  # the movement, its target and how far into it, as the program's top bar shows them
        numbers = (part, *((s.score.part, s.score.reps, s.score.scored, f"{s.score.score:.0f}") if s.score else ()),
                   round(part_progress(s, part) * w))
    layout = ("exercise", screen, locale, footer_note(s), part)
    return Layers(layout, still, {
        "top": Region(pygame.Rect(0, 0, w, left.y), (routine_title(s), numbers),
                      lambda surface: (draw_program_top_bar if part >= 0 else draw_top_bar)(surface, fonts, s, w, h)),
        "strip": Region(strip, (codes, seconds), lambda surface: draw_strip(surface, codes, seconds, strip)),
        # The instructor at the moment the person is judged against (instructor_time).
        "instructor": Region(instructor, instructor_content(s, shown_t),
                             lambda surface: draw_instructor(surface, s, instructor, shown_t, line_w)),
        "participant": Region(you, (screen, remaining, fresh, ready, *camera_content(s)), participant, camera_covers(s, you)),
        "cue": Region(pygame.Rect(0, strip.bottom, w, h - strip.bottom), (cue, cue_color), cue_line),
    })


def class_guidance(s: ScreenState) -> str:
    """The one cue for a class: the correction most of the people in view need now (said to
    everyone, naming no one); "" when most need none."""
    # Never "turn sideways" (scoring's TURN_SIDEWAYS, one person's 2D view of a side-view movement):
    # a row of people turned side-on hides one another from the camera, and where the camera stands
    # in a room is the staff's to change, not the class's. Such a member needs no class cue.
    cues = ["" if sc.guidance == TURN_SIDEWAYS else sc.guidance for spot, sc in s.people_scores.items()
            if spot in s.people]
    needed = [c for c in cues if c]
    if not needed or len(needed) * 2 < len(cues):
        return ""
    return max(sorted(set(needed)), key=needed.count)


def instructor_content(s: ScreenState, t: float) -> tuple:
    """What the instructor's panel shows at routine time t: a frame of their video, or the
    figure posed for t (it stands still before the start and while paused)."""
    if s.footage is not None and not s.footage.broken:
        return ("video", s.footage.frame_index(max(t, 0.0)), s.instructor_skeleton)
    return ("figure", max(t, 0.0))


def draw_class_summary(surface, fonts, s: ScreenState, w: int, h: int) -> None:
    """A class's end: each person's own score and repetitions side by side in the order they
    stand (by spot, never ranked), under one kind word for all."""
    if any(isinstance(r, dict) and isinstance(r.get("parts"), list) for r in s.people_results.values()):
        # After a program: each member's results movement by movement (renderer/program.py).
        from services.renderer.program import draw_class_program_summary
        return draw_class_program_summary(surface, fonts, s, w, h)
    text(surface, fonts, s.t("summary.title"), HEADING, (w / 2, h * 0.03), anchor="midtop")
    spots = sorted(s.people_results)
    column = (w - 2 * w * 0.04) / max(1, len(spots))
    for i, spot in enumerate(spots):
        result = s.people_results[spot]
        x = w * 0.04 + column * (i + 0.5)
        y = text(surface, fonts, spot_label(s, spot), BODY, (x, h * 0.2), anchor="midtop").bottom
        y = text(surface, fonts, s.t("summary.score"), BODY, (x, y + h * MARGIN), MUTED, anchor="midtop").bottom
        withheld = score_withheld(result, "")  # a member's own summary: the TV's question was the room's
        if withheld:  # in words: a dash this size reads as nothing from the sofa
            y = text(surface, fonts, s.t("summary.no_score"), HEADING, (x, y + h * MARGIN), anchor="midtop").bottom
            text(surface, fonts, s.t(MEMBER_WITHHELD[withheld]), BODY, (x, y), MUTED, anchor="midtop")
        else:
            y = text(surface, fonts, f"{float(result.get('score', 0.0)):.0f}", KEY, (x, y), anchor="midtop").bottom
            text(surface, fonts, f"{result.get('reps', 0)}{s.t('exercise.reps_unit')}", BODY, (x, y), anchor="midtop")
    text(surface, fonts, s.t("summary.class"), BODY, (w / 2, h * 0.82), HIGHLIGHT, anchor="midtop")


def draw_summary(surface, fonts, s: ScreenState, w: int, h: int) -> None:
    """The score with its repetitions under it; per joint, the share of time in the right
    position as a bar with its number and a legend; the session's strip; a kind word."""
    if s.people_results:
        draw_class_summary(surface, fonts, s, w, h)
        return
    summary = s.session.summary if s.session else {}
    score = float(summary.get("score", 0.0))
    text(surface, fonts, s.t("summary.title"), HEADING, (w / 2, h * 0.03), anchor="midtop")
    fall = fall_in_session(s, summary)  # once per drawing: it reads the alerts and what the TV heard
    if withheld := score_withheld(summary, fall):
        draw_no_score_summary(surface, fonts, s, summary, withheld, fall, w, h)
        return
    y = text(surface, fonts, s.t("summary.score"), BODY, (w * 0.2, h * 0.16), MUTED, anchor="midtop").bottom
    y = text(surface, fonts, f"{score:.0f}", KEY, (w * 0.2, y), anchor="midtop").bottom
    y = text(surface, fonts, f"{s.t('summary.reps')}: {summary.get('reps', 0)}", BODY, (w * 0.2, y),
             anchor="midtop").bottom
    if sides := side_counts(s, summary):  # a one-sided or alternating routine: each side's count
        y = text(surface, fonts, sides, BODY, (w * 0.2, y), MUTED, anchor="midtop").bottom
    joints = summary.get("joints", {})
    above = y  # the bottom of what is drawn above the strip
    if isinstance(joints, dict) and joints:
        # Room for five: the five least often right (a fault in the sixth joint was not shown), in their order.
        weakest = set(sorted(joints, key=lambda j: joints[j])[:5]) if len(joints) > 5 else set(joints)
        # Weakest first (the heading says so; the score is the average of these figures).
        above = max(above, draw_joint_bars(surface, fonts, s, [(j, v) for j, v in sorted(joints.items(),
                                                                                         key=lambda jv: jv[1])
                                                                if j in weakest], w, h))
    # The words under the strip, wrapped to the screen's width (a dancer's summary ran off both
    # edges in one line): the kind word, then notes about the recording and the camera.
    words, notes = summary_words(s, summary, score, fall)
    m = round(h * MARGIN)
    lines = [(line, HIGHLIGHT) for line in fonts.wrap(words, BODY, w - 2 * m)] + \
        [(line, MUTED) for line in fonts.wrap("  ·  ".join(notes), BODY, w - 2 * m)]
    line_h = fonts.render("가", BODY, TEXT).get_height() + 2 * max(2, fonts.px(BODY) // 8)
    # Bottom-aligned when they need the room: the strip and its parts line move up into the gap
    # under the bars as far as it goes.
    words_y = min(h * 0.82, h - m - len(lines) * line_h)
    codes = summary.get("timeline", "")
    # After a fall, no "part to practise": the session is not a lesson to go over.
    parts = best_and_worst(codes) if isinstance(codes, str) and codes and not fall else None
    strip = summary_strip_rect(w, h)
    under_strip = h * 0.74 + (line_h if parts else 0)
    lift = max(0.0, min(under_strip - words_y, strip.y - above - m)) if isinstance(codes, str) and codes else 0.0
    strip = strip.move(0, -round(lift))
    if isinstance(codes, str) and codes:
        draw_strip(surface, codes, len(codes), strip)
        if parts:
            (b0, b1, _), (w0, w1, _) = parts
            line = (f"{s.t('summary.best_part')} {clock(b0)}–{clock(b1)}  ·  "
                    f"{s.t('summary.worst_part')} {clock(w0)}–{clock(w1)}")
            text(surface, fonts, line, BODY, (w / 2, h * 0.74 - lift), anchor="midtop")
    y = max(words_y, under_strip - lift) if isinstance(codes, str) and codes else words_y
    for line, color in lines:
        if y + line_h > h:
            break  # no room left (never off the screen): the notes go first, the kind word stays
        y = text(surface, fonts, line, BODY, (w / 2, y), color, anchor="midtop").bottom


def side_counts(s: ScreenState, summary: dict) -> str:
    """Each side's count for a one-sided or alternating routine ("왼쪽 9 · 오른쪽 9"), else ''."""
    by_side = summary.get("reps_by_side")
    if isinstance(by_side, dict) and {"left", "right"} <= by_side.keys():
        return s.t("summary.reps_sides").format(left=by_side["left"], right=by_side["right"])
    return ""


def depth_words(s: ScreenState, summary: dict) -> str:
    """How deep the repetitions went against the routine's target when shallower than it ("깊이:
    목표의 64%"; common/program_results.py shallow_depth, the rule `silvergym score`'s line and the
    carers' report follow too), else ''."""
    from common.program_results import shallow_depth

    depth = shallow_depth(summary)
    return s.t("summary.depth").format(share=f"{100 * float(depth['share']):.0f}") if depth else ""


# Why a summary shows no score (score_withheld), and the word under a class member's "No score".
MEMBER_WITHHELD = {"fall": "summary.member_fell", "unread": "summary.member_unread", "idle": "summary.member_rested",
                   "side_view": "summary.member_side_view"}


def draw_no_score_summary(surface, fonts, s: ScreenState, summary: dict, withheld: str, fall: str,
                          w: int, h: int) -> None:
    """A summary with no score (score_withheld's reason): none of its figures is the person's
    exercise (its count, joints' bars and strip measure a fall, the box's sparse reading, or a
    movement nobody did), so none is shown; centred in one column under "No score" instead: after a
    fall, that help was called and to rest; read too sparsely, why (how often it saw them, how
    often it must), that the person did nothing wrong, and what fixes it (doctor's and the scoring
    log's advice, for whoever keeps the box); nobody moved, the kind words; seen but not measurable
    from the front (a squat read by a 2D model: its 0 had every joint at 0 % in red and advice to
    bend the other knee), that they were seen and to stand side on next time."""
    m = round(h * MARGIN)
    column = pygame.Rect(round(w * 0.08), 0, round(w * 0.84), h)
    y = text(surface, fonts, s.t("summary.no_score"), HEADING, (w / 2, h * 0.2), anchor="midtop").bottom + 2 * m
    if withheld == "fall":
        paragraph(surface, fonts, s.t(f"summary.fall_{fall or 'called'}"), BODY, column, y, HIGHLIGHT, centered=True)
        return
    if withheld in ("idle", "side_view"):
        key = "summary.seen_not_measured" if withheld == "side_view" else "summary.not_exercised"
        paragraph(surface, fonts, s.t(key), BODY, column, y, HIGHLIGHT, centered=True)
        return
    rate = summary.get("poses_per_s")
    why = s.t("summary.too_few_poses_why").format(n=f"{float(rate):.0f}", need=f"{MIN_POSES_PER_S:.0f}") \
        if isinstance(rate, (int, float)) else s.t("summary.too_few_poses")
    y = paragraph(surface, fonts, why, BODY, column, y, centered=True) + m
    y = paragraph(surface, fonts, s.t("summary.too_few_poses_do"), BODY, column, y, HIGHLIGHT, centered=True) + m
    staff = {"video": "summary.too_few_poses_staff_video", "model": "summary.too_few_poses_staff_model"}.get(
        s.slow_reading_fix, "summary.too_few_poses_staff")  # a video file has no resolution to lower
    paragraph(surface, fonts, s.t(staff), BODY, column, max(y, h * 0.74), MUTED, centered=True)


def fall_in_session(s: ScreenState, summary: dict) -> str:
    """'called' when a fall in the session whose summary is shown made the carer be called,
    'answered' when the person said they were all right, else ''. From the summary's alerts and
    from what the TV heard itself: a question still open when the session ended is answered after
    the summary was sent."""
    session_id = s.session.session_id if s.session is not None else ""
    alerts = [a for a in summary.get("alerts", []) if isinstance(a, dict)]
    if any(a.get("kind") == "fall" for a in alerts) or (
            s.alert is not None and s.alert.kind == "fall" and session_id and s.alert.session_id == session_id):
        return "called"
    if any(a.get("kind") == "fall_check" for a in alerts) or (session_id and s.question_answered_session == session_id):
        return "answered"
    return ""


def summary_words(s: ScreenState, summary: dict, score: float, fall: str | None = None) -> tuple[str, list[str]]:
    """The summary's kind word (or a fitness test's or a hold's result), and its notes: how a
    recorded participant's clip ran and how much of the person the camera missed. `fall`:
    fall_in_session's answer when the caller has it (None: asked here)."""
    idle = summary.get("exercised") is False
    # The TV knows only this session: no word of progress ("조금씩 더 좋아지고 있어요") it cannot back.
    verdict = "summary.great" if score >= 80 else "summary.good_today" if score >= 50 else "summary.keep_going"
    words = s.t(verdict)
    test = summary.get("test")
    if isinstance(test, dict) and {"count", "seconds", "low", "high", "age_group", "rating"} <= test.keys() \
            and summary.get("too_few_poses") is not True:
        # A fitness test's result is its count against the age norm (common/coach/norms.py), not a posture share.
        words = s.t(f"summary.test.{test['rating']}") + "  ·  " + s.t("summary.test").format(
            count=test["count"], seconds=f"{float(test['seconds']):.0f}", low=test["low"], high=test["high"],
            group=test["age_group"])
    elif (fall := fall_in_session(s, summary) if fall is None else fall):
        # No score's praise and no exercise advice after a fall: what happened, and rest.
        words = s.t(f"summary.fall_{fall}")
    elif summary.get("too_few_poses") is True:  # the box was too busy: no verdict on the person at all
        words = s.t("summary.too_few_poses")
    elif summary.get("seen_not_measured"):  # seen, but not measurable from where they stood
        words = s.t("summary.seen_not_measured")
    elif idle:
        words = s.t("summary.not_exercised")
    elif "hold_s" in summary and summary.get("hold_target_s"):
        words = s.t("summary.hold").format(held=f"{float(summary['hold_s']):.0f}", target=f"{float(summary['hold_target_s']):.0f}")
    else:
        if depth := depth_words(s, summary):  # shallower than the target: how deep, beside going deeper
            words += "  ·  " + depth
        if practise := to_practise(summary):  # going deeper, else the weakest joint's correction, in the movement's words
            words += "  ·  " + s.t("summary.practise").format(cue=cue_text(s, practise))
    notes = []
    if summary.get("too_few_poses") is True and isinstance(summary.get("poses_per_s"), (int, float)):
        # For whoever looks after the box: how sparse, and the one command that says why and what to do.
        notes.append(s.t("summary.too_few_poses_note").format(n=f"{float(summary['poses_per_s']):.0f}",
                                                               need=f"{MIN_POSES_PER_S:.0f}"))
    if summary.get("video_ended_s") is not None:  # a recorded participant shorter than the routine
        notes.append(s.t("summary.video_ended").format(at=f"{float(summary['video_ended_s']):.0f}"))
    elif summary.get("video_looped"):
        notes.append(s.t("summary.video_looped").format(n=summary["video_looped"]))
    framing = summary.get("framing")
    if isinstance(framing, dict) and (framing.get("advice") or float(framing.get("partly_in_view", 0)) >= 0.1):
        # How much the camera missed of them and what fixes it, for whoever set the TV up as much as
        # for the senior (doctor and the log say it at length).
        notes.append(s.t("summary.out_of_view").format(share=f"{float(framing.get('partly_in_view', 0)):.0%}"))
        if framing.get("advice"):
            notes.append(s.t(f"summary.{framing['advice']}"))
    return words, notes


def draw_joint_bars(surface, fonts, s: ScreenState, joints: list, w: int, h: int) -> float:
    row = h * 0.07
    text(surface, fonts, s.t("summary.joints_heading"), BODY, (w * 0.4, h * 0.16), MUTED)
    y = h * 0.24
    bar_x, bar_w = w * 0.62, w * 0.2
    for joint, accuracy in joints:
        accuracy = max(0.0, min(1.0, float(accuracy)))
        text(surface, fonts, s.t(f"joint.{joint}"), BODY, (w * 0.4, y))
        bar = pygame.Rect(round(bar_x), round(y + row * 0.25), round(bar_w), round(row * 0.5))
        pygame.draw.rect(surface, PANEL, bar, border_radius=6)
        filled = bar.copy()
        filled.w = int(bar_w * accuracy)
        pygame.draw.rect(surface, STATUS_COLORS[share_verdict(accuracy)], filled, border_radius=6)
        text(surface, fonts, f"{accuracy * 100:.0f}%", BODY, (w * 0.84, y))
        y += row
    # The colours' meaning, for the bars and the strip below alike; the strip's grey when it has
    # any (seconds in no judged repetition: standing still before the first).
    codes = s.session.summary.get("timeline", "") if s.session else ""
    keys = [(STATUS_COLORS[v], f"legend.{v}") for v in ("correct", "near", "wrong")]
    if isinstance(codes, str) and UNSCORED in codes:
        keys.append((STRIP_UNSCORED, "legend.none"))
    chip = round(h * BODY * 0.6)
    pad = max(2, fonts.px(BODY) // 8)
    width = sum(chip * 2.5 + fonts.render(s.t(key), BODY, TEXT).get_width() + 2 * pad for _, key in keys) - chip
    x = min(w * 0.4, summary_strip_rect(w, h).right - width)  # left of the bars' column when four do not fit
    for color, key in keys:
        swatch = pygame.Rect(round(x), round(y + (row - chip) / 2), chip, chip)
        pygame.draw.rect(surface, color, swatch)
        x = text(surface, fonts, s.t(key), BODY, (swatch.right + chip / 2, y)).right + chip
    return y + row  # under the legend
