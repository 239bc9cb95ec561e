"""What the TV shows, as pure functions of a ScreenState: easy to test on pixels headless."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import cv2
import numpy as np
import pygame

from common.bus import messages
from common.coach.keypoints import COMMON_INDEX, EDGES, flip_x, to_common
from common.coach.routine import Routine
from common.coach.synthetic import pose3d
from common.timeline import UNSCORED, VERDICT_OF, VerdictTimeline, best_and_worst, clock

BACKGROUND = (24, 36, 52)
PANEL = (34, 50, 70)
TEXT = (245, 240, 230)
MUTED = (170, 180, 190)
STATUS_COLORS = {"correct": (46, 204, 113), "near": (241, 196, 15), "wrong": (231, 76, 60), "none": (140, 150, 155)}
UNSCORED_LIMB = (220, 225, 230)
STRIP_UNSCORED = (95, 105, 115)  # a second nobody could be judged in: neither good nor bad
INSTRUCTOR_BLUE = (120, 200, 255)
INSTRUCTOR_LIMBS = {e: INSTRUCTOR_BLUE for e in EDGES}
ALERT_BG = (170, 30, 30)

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
    session: messages.Session | None = None
    session_at: float = -1e9
    alert: messages.Alert | None = None
    alert_at: float = -1e9
    camera_state: str = "unknown"
    backend: str = ""
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

    def t(self, key: str) -> str:
        return self.texts.get(key, key)


def which_screen(s: ScreenState, now: float) -> str:
    if s.alert is not None and now - s.alert_at < ALERT_SHOW_S:
        return "alert"
    if s.camera_state != "lost" and s.frame_at < s.started_at and now - s.started_at < CAMERA_START_TIMEOUT_S:
        return "camera_starting"  # no picture yet since the TV started, and the camera has not said it is lost
    if s.camera_state == "lost" or (now - s.frame_at > CAMERA_LOST_AFTER_S):
        return "camera_lost"
    if s.session is not None and s.session.event == "end" and now - s.session_at < SUMMARY_SHOW_S:
        return "summary"
    if s.session is not None and s.session.event == "start":
        if s.score is not None and s.score.phase == "countdown":
            return "countdown"
        if now - s.person_at > LOOKING_AFTER_S:
            return "looking"
        return "exercise"
    if s.pose is not None and s.pose.keypoints and setup_problem(s) != "setup.ok":
        return "setup"
    return "start"


MOVING_SCREENS = ("exercise", "countdown", "looking")  # the instructor moves with the routine clock


def content_key(s: ScreenState, now: float) -> tuple:
    """Everything a draw at `now` depends on: equal keys draw equal pictures, so the renderer
    can skip the draw (and the display flip) when nothing changed."""
    screen = which_screen(s, now)
    seqs = tuple(m.seq if m is not None else -1 for m in (s.frame, s.pose, s.score, s.session, s.alert))
    moving = routine_time(s, now) if screen in MOVING_SCREENS else None
    return (screen, seqs, moving, s.camera_state, s.backend, round(s.fps), s.paused, s.participant)


def routine_time(s: ScreenState, now: float) -> float:
    """Seconds into the routine on its own clock (negative in the countdown); it stands still
    while the session is paused."""
    if s.session is None or not s.session.routine_start_ns:
        return 0.0
    at = s.session.paused_at_ns / 1e9 if s.session.paused_at_ns else now
    return at - s.session.routine_start_ns / 1e9


def setup_problem(s: ScreenState) -> str:
    """A plain instruction before a session: whole body in view, distance, light."""
    if s.frame is not None and s.frame.pixels is not None and float(s.frame.pixels.mean()) < 40:
        return "setup.too_dark"
    if s.pose is None or not s.pose.keypoints:
        return "setup.whole_body"
    common = to_common(s.pose.layout, s.pose.keypoints)
    needed = ["nose", "left_ankle", "right_ankle", "left_wrist", "right_wrist"]
    if min(common[COMMON_INDEX[n], 2] for n in needed) < 0.3:
        return "setup.whole_body"
    ys = common[common[:, 2] >= 0.3, 1]
    height_frac = (ys.max() - ys.min()) / max(s.pose.height, 1)
    if height_frac > 0.95:
        return "setup.too_close"
    if height_frac < 0.35:
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


def wrap(fonts, words: str, scale: float, width: int) -> list[str]:
    """`words` broken into lines no wider than `width` pixels at `scale` (at spaces: Korean
    sentences have them between words too)."""
    lines: list[str] = []
    for word in words.split():
        if lines and fonts.get(scale).size(f"{lines[-1]} {word}")[0] <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def text(surface, fonts, s: str, scale: float, pos, color=TEXT, anchor="topleft"):
    img = fonts.render(s, scale, color)
    rect = img.get_rect(**{anchor: pos})
    surface.blit(img, rect)
    return rect


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


def draw_camera(surface, s: ScreenState, box: pygame.Rect, width: int) -> None:
    """The participant's picture, mirrored as people expect, with the coloured skeleton."""
    pygame.draw.rect(surface, PANEL, box, border_radius=16)
    if s.frame is None or s.frame.pixels is None:
        return
    fh, fw = s.frame.pixels.shape[:2]
    scale, ox, oy = fit(fw, fh, box)
    picture = _picture.surface(s.frame.pixels, (int(fw * scale), int(fh * scale)))
    surface.blit(picture, (ox, oy))
    if s.pose is not None and s.pose.keypoints:
        common = flip_x(to_common(s.pose.layout, s.pose.keypoints), s.pose.width)
        sx, sy = scale * fw / max(s.pose.width, 1), scale * fh / max(s.pose.height, 1)
        points, limbs = joint_colors(s.score)
        draw_skeleton(surface, common, lambda p: (int(ox + p[0] * sx), int(oy + p[1] * sy)), points, limbs, width)


def reference_pose(routine: Routine, t: float) -> np.ndarray | None:
    """The recorded instructor keypoints (routine built from a video) nearest before t, in
    body heights around the mid-hip, or None for routines written as angles only."""
    kf = routine.keyframes[routine.keyframe_at(t)]
    return np.asarray(kf.keypoints, dtype=float) if kf.keypoints else None


def draw_instructor(surface, s: ScreenState, box: pygame.Rect, t: float, width: int) -> None:
    """The instructor: their own video at routine time t when the routine has one, else a figure
    from the routine's recorded reference pose, else one posed from its target angles."""
    pygame.draw.rect(surface, PANEL, box, border_radius=16)
    picture = s.footage.frame_at(max(t, 0.0)) if s.footage is not None else None
    if picture is not None:
        draw_instructor_video(surface, s, picture, box, t, width)
        return
    recorded = reference_pose(s.routine, max(t, 0.0))
    if recorded is not None:
        common = recorded.copy()
        common[:, :2] *= 400.0  # body heights -> the synthetic figure's pixel scale
        seen = common[:, 2] >= 0.3
        if seen.any():
            common[:, 1] -= common[seen, 1].max()  # feet on the floor line
    else:
        xyz = pose3d(s.routine.target(max(t, 0.0)), center_x=0.0, floor_y=0.0)
        common = np.concatenate([xyz[:, :2], np.ones((len(xyz), 1))], axis=1)
    # Drawn mirrored, like the participant's picture beside it: moving like the figure, as in a
    # mirror, is what the routine scores.
    common[:, 0] *= -1
    span_y = 460.0
    scale = box.h * 0.85 / span_y
    cx, floor = box.centerx, box.bottom - box.h * 0.06
    to_screen = lambda p: (int(cx + p[0] * scale), int(floor + p[1] * scale))  # noqa: E731
    draw_skeleton(surface, common, to_screen, {}, INSTRUCTOR_LIMBS, int(width * 1.4))
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


def exercise_panels(w: int, h: int, unit: int) -> tuple[pygame.Rect, pygame.Rect]:
    """The instructor's panel (left) and the participant's (right) on the exercise screens."""
    left = pygame.Rect(30, int(unit * 3.6), w // 2 - 45, h - int(unit * 8.4))
    return left, pygame.Rect(w // 2 + 15, left.y, w // 2 - 45, left.h)


def strip_rect(w: int, h: int, unit: int) -> pygame.Rect:
    """The accuracy strip under the two panels of the exercise screen."""
    return pygame.Rect(30, h - int(unit * 4.55), w - 60, max(6, int(unit * 0.5)))


def strip_cell(box: pygame.Rect, second: int, seconds: int) -> pygame.Rect:
    x0 = box.x + box.w * second // seconds
    return pygame.Rect(x0, box.y, max(1, box.x + box.w * (second + 1) // seconds - x0), box.h)


def strip_color(code: str) -> tuple:
    return STRIP_UNSCORED if code == UNSCORED else STATUS_COLORS[VERDICT_OF[code]]


def draw_strip(surface, codes: str, seconds: int, box: pygame.Rect) -> None:
    """One cell per second of the routine, filled as the session passes it. Each run of equal
    seconds is one rectangle: a half-hour routine is 1800 cells, drawn 30 times a second."""
    pygame.draw.rect(surface, PANEL, box)
    seconds = max(seconds, len(codes), 1)
    for run in re.finditer(r"(.)\1*", codes):
        first, last = strip_cell(box, run.start(), seconds), strip_cell(box, run.end() - 1, seconds)
        pygame.draw.rect(surface, strip_color(run.group(1)), first.union(last))


def routine_seconds(routine: Routine) -> int:
    return max(1, math.ceil(routine.duration_s))


def draw_top_bar(surface, fonts, s: ScreenState, w: int) -> None:
    title = s.routine.title.get(s.texts.get("_locale", "ko")) or s.routine.name
    text(surface, fonts, title, 1.6, (30, 16))
    if s.score is not None:
        text(surface, fonts, f"{s.t('exercise.reps')} {s.score.reps}", 1.6, (w * 0.55, 16))
        text(surface, fonts, f"{s.t('exercise.score')} {s.score.score:.0f}", 1.6, (w - 30, 16), anchor="topright")
        bar = pygame.Rect(30, fonts.unit * 2.6, w - 60, fonts.unit * 0.5)
        pygame.draw.rect(surface, PANEL, bar, border_radius=8)
        done = bar.copy()
        done.w = int(bar.w * max(0.0, min(1.0, s.score.progress)))
        pygame.draw.rect(surface, (120, 200, 255), done, border_radius=8)


def status_line(s: ScreenState) -> str:
    parts = []
    if s.backend == "sim":
        parts.append(s.t("status.sim"))
    elif s.backend and s.backend != "edgetpu":
        parts.append(s.t("status.cpu_mode"))
    parts.append(f"{s.fps:.0f} fps")
    if s.camera_state == "lost":
        parts.append(s.t("status.camera_lost"))
    elif s.frame is not None:  # "fine" only once pictures come
        parts.append(s.t("status.camera_ok"))
    if s.paused:
        parts.append(s.t("status.paused"))
    return " · ".join(parts)


def draw_status_corner(surface, fonts, s: ScreenState, w: int, h: int) -> None:
    text(surface, fonts, status_line(s), 0.7, (w - 16, h - 12), MUTED, anchor="bottomright")


def centered_message(surface, fonts, lines: list[tuple[str, float]], w: int, h: int, color=TEXT) -> None:
    y = h * 0.5 - sum(fonts.unit * sc * 1.4 for _, sc in lines) / 2
    for line, sc in lines:
        r = text(surface, fonts, line, sc, (w / 2, y), color, anchor="midtop")
        y = r.bottom + fonts.unit * 0.4


def draw(surface: pygame.Surface, fonts, s: ScreenState, now: float) -> str:
    """Draw the whole screen for `now` (monotonic s); returns the screen's name."""
    w, h = surface.get_size()
    screen = which_screen(s, now)
    surface.fill(ALERT_BG if screen == "alert" else BACKGROUND)
    line_w = max(4, h // 120)
    if screen == "alert":
        centered_message(surface, fonts, [(s.t("alert.title"), 2.6), (s.t("alert.body"), 1.5)], w, h)
    elif screen == "camera_lost":
        centered_message(surface, fonts, [(s.t("camera.lost"), 1.6)], w, h)
    elif screen == "camera_starting":
        centered_message(surface, fonts, [(s.t("camera.starting"), 1.6)], w, h)
    elif screen == "summary":
        draw_summary(surface, fonts, s, w, h)
    elif screen in ("start", "setup"):
        draw_camera(surface, s, pygame.Rect(w // 2 + 10, h // 5, w // 2 - 40, h * 3 // 5), line_w)
        hint = setup_problem(s) if screen == "setup" else "start.will_begin"
        locale = s.texts.get("_locale", "ko")
        title = s.routine.title.get(locale) or s.routine.name
        top = h // 8
        text(surface, fonts, title, 2.2, (40, top))
        # What to do and the safety advice, before the session starts (also spoken: speak()).
        y = top + fonts.unit * 3.0
        for line in wrap(fonts, s.routine.description.get(locale, ""), 1.1, w // 2 - 60):
            text(surface, fonts, line, 1.1, (40, y), MUTED)
            y += fonts.unit * 1.5
        y += fonts.unit * 0.8
        text(surface, fonts, s.t("start.stand_in_front"), 1.5, (40, y))
        text(surface, fonts, s.t(hint), 1.2, (40, y + fonts.unit * 2.2), (255, 220, 120))
        name = s.participant_names.get(s.participant) or s.t("start.guest")
        text(surface, fonts, f"{s.t('start.participant')}: {name}", 1.3, (40, y + fonts.unit * 4.8))
        if len(s.participant_names) > 1:
            text(surface, fonts, s.t("start.change_participant"), 0.9, (40, y + fonts.unit * 6.6), MUTED)
    else:
        left, right = exercise_panels(w, h, fonts.unit)
        # The instructor runs on the routine clock; the participant may lag, scoring allows for it.
        t = routine_time(s, now)
        draw_top_bar(surface, fonts, s, w)
        draw_strip(surface, s.timeline.codes(), routine_seconds(s.routine), strip_rect(w, h, fonts.unit))
        draw_instructor(surface, s, left, t, line_w)
        text(surface, fonts, s.t("exercise.instructor"), 1.0, (left.x + 14, left.y + 10), MUTED)
        draw_camera(surface, s, right, line_w)
        text(surface, fonts, s.t("exercise.you"), 1.0, (right.x + 14, right.y + 10), MUTED)
        if screen == "countdown":
            remaining = max(0, math.ceil(-t))
            centered_message(surface, fonts, [(s.t("countdown.get_ready"), 1.6), (str(remaining or ""), 5.0)], w, h)
        elif screen == "looking":
            centered_message(surface, fonts, [(s.t("lost.looking"), 1.5)], w, h, (255, 220, 120))
        else:
            hint = s.t(s.score.guidance) if s.score and s.score.guidance else s.t("exercise.good")
            color = (255, 220, 120) if s.score and s.score.guidance else STATUS_COLORS["correct"]
            text(surface, fonts, hint, 1.6, (w / 2, h - fonts.unit * 3.6), color, anchor="midtop")
    if screen != "alert":
        draw_status_corner(surface, fonts, s, w, h)
    return screen


def summary_strip_rect(w: int, h: int, unit: int) -> pygame.Rect:
    """The whole session's strip on the summary screen."""
    return pygame.Rect(int(w * 0.08), int(h * 0.73), int(w * 0.84), max(8, int(unit * 0.9)))


def draw_summary(surface, fonts, s: ScreenState, w: int, h: int) -> None:
    summary = s.session.summary if s.session else {}
    score = float(summary.get("score", 0.0))
    text(surface, fonts, s.t("summary.title"), 2.2, (w / 2, h * 0.06), anchor="midtop")
    text(surface, fonts, s.t("summary.score"), 1.2, (w * 0.25, h * 0.24), MUTED, anchor="midtop")
    text(surface, fonts, f"{score:.0f}", 5.0, (w * 0.25, h * 0.30), anchor="midtop")
    text(surface, fonts, f"{s.t('summary.reps')}: {summary.get('reps', 0)}", 1.4, (w * 0.25, h * 0.62), anchor="midtop")
    verdict = "summary.great" if score >= 80 else "summary.good" if score >= 50 else "summary.keep_going"
    text(surface, fonts, s.t(verdict), 1.3, (w / 2, h * 0.86), (255, 220, 120), anchor="midtop")
    codes = summary.get("timeline", "")
    if isinstance(codes, str) and codes:
        draw_strip(surface, codes, len(codes), summary_strip_rect(w, h, fonts.unit))
        parts = best_and_worst(codes)
        if parts:
            (b0, b1, _), (w0, w1, _) = parts
            line = (f"{s.t('summary.best_part')} {clock(b0)}–{clock(b1)}   ·   "
                    f"{s.t('summary.worst_part')} {clock(w0)}–{clock(w1)}")
            text(surface, fonts, line, 1.0, (w / 2, h * 0.79), TEXT, anchor="midtop")
    joints = summary.get("joints", {})
    y = h * 0.24
    bar_w = w * 0.28
    for joint, accuracy in list(joints.items())[:8]:
        text(surface, fonts, s.t(f"joint.{joint}"), 1.0, (w * 0.45, y))
        bar = pygame.Rect(int(w * 0.64), int(y + fonts.unit * 0.2), int(bar_w), int(fonts.unit * 0.8))
        pygame.draw.rect(surface, PANEL, bar, border_radius=6)
        filled = bar.copy()
        filled.w = int(bar_w * float(accuracy))
        color = STATUS_COLORS["correct"] if accuracy >= 0.7 else STATUS_COLORS["near"] if accuracy >= 0.4 else STATUS_COLORS["wrong"]
        pygame.draw.rect(surface, color, filled, border_radius=6)
        y += fonts.unit * 1.6
