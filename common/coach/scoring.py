"""Session scoring: joint angles against a routine, lag-tolerant, with reps, holds and summary.

Frame by frame (the TV's colours and cues, docs/scoring.md): each frame is judged against the
routine position the participant has reached, which TempoTracker (common/coach/warp.py) follows
with bounded online time warping: a late start, a slower, faster or drifting tempo (0.5x to 10x
for a routine of repetitions, the pace the session score follows too; 0.5x to 2x otherwise), and
re-joining after falling a whole movement behind. `naive=True` compares at the same timestamp,
like the prototype.

The session's score (one definition, said the same way everywhere: POSTURE_SCORE_DEFINITION)
means posture: each repetition the person did is aligned with the routine's one cycle whatever
its pace and wherever it fell in time (warp.align_cycles), and every moment of the routine's
movement is compared with the person's pose at the matching moment of theirs. A joint earns 1
at a moment within its tolerance (green), part of 1 in its near band (yellow, falling to 0 at
its edge), 0 beyond; each joint's figure is its share over the moments of all repetitions, and
the score is the average of the joint figures (x100). A repetition that never reaches the
routine's turning position (every moving joint within its near band at once, e.g. arms only to
shoulder height in an arm raise) is not the routine's movement: all its moments earn 0 (one a few
degrees short earns that much less: SHORT_RAMP_SHARE); so is one
that takes a limb past the level the routine keeps below, or that the repetition counter did not
count (docs/scoring.md "Which movement" lists the rules). A repetition during which the pose
followed became another person's is not judged. With no repetition, the score is 0. A routine that
does not loop but has a repetition rule (built from a video: a program's part) is scored the same
way, its one cycle the instructor's typical repetition (instructor_cycle). One without repetitions
(a choreography: a dance, a program's timed part) has none to align: its score is the share of
frames, as TempoTracker aligned them, with every joint green at once, and each joint's figure its
own share of green frames (docs/scoring.md says why).

A count test (chair_stand_30s, arm_curl_30s) is a count: its result is the repetitions in the
test's time against the Senior Fitness Test's norms (common/coach/norms.py); a hold's result is
the seconds held. The posture figures are reported beside those results, not in them.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from common.coach.framing import FramingMonitor, in_view, needed_points
from common.coach.geometry import ALL_ANGLES, SIGNED_ANGLES, another_body, joint_angles, joint_visibility
from common.coach.keypoints import COMMON_INDEX, MIRROR_SWAP, mirror, mirror_name
from common.coach.reps import RepCounter
from common.coach.routine import Keyframe, Routine
from common.program_results import shallow_depth
from common.timeline import CODES, MAX_SECONDS, UNSCORED, VerdictTimeline, share_verdict
from common.coach import norms
from common.coach.warp import (CYCLE_CELLS, ERROR_CAP_DEG, CycleAlignment, TempoTracker, align_once, cycle_targets,
                               first_change, RESAMPLE_HZ, repetitions, resample)

STATUS_ORDER = {"none": 0, "correct": 1, "near": 2, "wrong": 3}
TURN_SIDEWAYS = "turn.side"  # locale key: the cue to stand side-on to the camera
SLOW_IS_FINE = "pace.slow_ok"  # locale key: fell a movement behind and re-joined; going slowly is fine
COUNT_TESTS = ("chair_stand_30s", "arm_curl_30s")
# The one definition of the score, in these words on the TV summary, in the report, on the web
# page and in docs/scoring.md (locale key "score.definition" says it in each language).
POSTURE_SCORE_DEFINITION = (
    "Posture score: in each repetition, at your own pace, every moment of the routine's movement is "
    "compared with your posture at the same point of yours; each joint's figure is the share of those "
    "moments it was within its tolerance (partly, when near), and the score is the average of the joint figures. "
    "A movement without repetitions (a dance) is scored on the share of its moments with every joint within its "
    "tolerance at once; each joint's figure is then its own share of those moments.")
MOVING_JOINT_DEG = 40.0  # a joint whose target moves this much over a cycle makes the movement
SEEN_WELL = RepCounter.seen_well  # a joint's visibility from which its angle is a range-of-motion sample
ROM_SEEN_SHARE = 0.5  # a joint's range is reported when seen well on this share of the best-seen joint's frames
TURN_SPAN_DEG = 5.0  # the turning position: the moments of the cycle within this of its extreme
# A repetition whose moving parts fall short of the turning position (or of an end of the routine's
# range) beyond what is asked (the near band) earns less the farther short, linearly, none from
# this share of the part's way from the routine's start to there beyond it (a squat's knees, 175 to
# 100 deg: 19 deg beyond the band's 30): a few degrees short is a little worse, not another movement.
SHORT_RAMP_SHARE = 0.25
MIN_CYCLE_COVER = 0.9  # a piece of the aligned path through this share of the cycle is a repetition (warp.repetitions)
REPEAT_HZ = 30.0  # a routine that does not loop: its counted joints' targets sampled this often to ask if they repeat
# The score published during a session is worked out again this often: the alignment of a 40 s
# session at 30 fps costs 0.1 s of CPU here (x86), several times that on a Pi.
RUNNING_SCORE_EVERY_S = 5.0
UNJUDGED_RETRY_S = 0.5  # ... and this often after a first count while no repetition is judged yet
STANCE_SEEN = 0.3  # a point's confidence from which stance() uses it
# stance() at or above this: standing; at or below SEATED_BELOW: seated (or crouched); between: not said.
STANDING_ABOVE = 1.25
SEATED_BELOW = 1.0
# Below this the feet are not where a body's feet can be (a picture cut at the hips: the model
# guesses the ankles at its edge, beside the hips): no position is read.
STANCE_MIN = 0.5
MATCH_STEPS = 8  # the moments tried each side of the tracked position within the timing slack
MATCH_CYCLE_SHARE = 0.1  # ... and, in a routine of repetitions, within this share of its cycle
# A moment judged on an instructor video's frame is this after the frame's time (offset_s is rounded
# to 1 ms: the TV's routine_t_s - offset_s still falls on that frame).
FRAME_MARGIN_S = 0.002
# The share of the routine's own range a moving joint must go through to be doing the movement:
# less (and no repetition) is resting (common/coach/stillness.py), and before the first repetition,
# not having begun (SessionScorer._before_first_movement).
REST_SHARE = 1 / 3
# A built routine's moving part seen on less than this share of a repetition's poses is not judged
# by the range and turn rules in it (SessionScorer._judge).
PART_SEEN_SHARE = 0.5
OUT_OF_POSITION_SHARE = 0.25  # a repetition this much of it in the other position is not the routine's
# The level of a limb lifted against gravity: a right angle between it and the trunk (an arm at
# shoulder height, a thigh at hip height, for an upright body). The shoulders' and hips' angles are
# measured from the trunk (geometry.JOINT_ANGLES).
LEVEL_DEG = 90.0
LIMB_TO_TRUNK = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")

def _mean_error(err: np.ndarray) -> float:
    return float(np.nanmean(np.minimum(np.abs(err), ERROR_CAP_DEG)))


def _group_over(over: np.ndarray, joints: list[str]) -> np.ndarray:
    """Per moment, how far beyond its near band each moving joint group is (a left/right pair:
    the mean of the sides seen). A 2D model reads the far leg of a squat seen at an angle as
    much straighter than the near one, so each side alone would fail a good squat; a lifted
    knee with the other leg straight (a march) is still far off on average."""
    groups: dict[str, list[int]] = {}
    for k, j in enumerate(joints):
        groups.setdefault(j.replace("left_", "").replace("right_", ""), []).append(k)
    if not len(over):
        return over
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a group with no side seen: NaN
        return np.column_stack([np.nanmean(over[:, ks], axis=1) for ks in groups.values()])


def stance(common: np.ndarray | None) -> float:
    """How high the hips are above the lower foot, in trunk lengths (neck to mid-hip), in the picture;
    NaN when the trunk or both ankles are not seen. Standing it is about 1.6-2 (thigh and shin
    upright; 1.3-1.7 on the clips of ../shared/media); seated or at a squat's bottom about 1 or less (the thigh horizontal or pointing at
    the camera), from the front and from the side alike, for a 2D model too. The lower foot: a
    lifted knee (marching) or a straightened leg (a seated knee extension) does not change it."""
    if common is None or not len(common):
        return np.nan
    pts = {n: common[COMMON_INDEX[n]] for n in ("neck", "mid_hip", "left_ankle", "right_ankle")}
    if min(pts["neck"][2], pts["mid_hip"][2]) < STANCE_SEEN:
        return np.nan
    trunk = float(np.hypot(*(pts["neck"][:2] - pts["mid_hip"][:2])))
    feet = [p[1] for n, p in pts.items() if n.endswith("ankle") and p[2] >= STANCE_SEEN]
    if trunk <= 0 or not feet:
        return np.nan
    height = (max(feet) - float(pts["mid_hip"][1])) / trunk
    return height if height >= STANCE_MIN else np.nan


def instructor_repetitions(routine: Routine) -> list[tuple[float, float]]:
    """The instructor's own repetitions in a routine that does not loop (one built from a video, a
    program's part): (start, end) in routine seconds, each from the start position through the
    turn and back, found on the keyframes by the routine's repetition rule (its thresholds, with
    their hysteresis: into the turned zone only after the start zone). A rule counted per side
    (marching) makes a repetition of one turn of each side, as a looping routine's cycle holds.
    The ends: where the counted joints are most toward their start between two turns (the middle
    of the moments within TURN_SPAN_DEG of it), before the first turn and after the last the
    moment nearest that turn."""
    rule, kfs = routine.reps, routine.keyframes
    if rule is None or len(kfs) < 3:
        return []
    t = np.array([k.t for k in kfs], dtype=float)
    sign = 1.0 if rule.start == "high" else -1.0  # toward the start position: larger angles, or smaller
    groups = {"both": tuple(rule.joints)}
    if rule.sides != "both":
        groups = {side: tuple(j for j in rule.joints if j.startswith(side + "_")) for side in ("left", "right")}
        groups = {side: js for side, js in groups.items() if js}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a keyframe without a group's joint: NaN
        track = np.array([[k.angles.get(j, np.nan) for j in rule.joints] for k in kfs], dtype=float)
        startness = sign * np.nanmean(track, axis=1)
        turns = []  # (time of a turn's deepest moment, its group)
        for name, joints in groups.items():
            g = np.nanmean(track[:, [rule.joints.index(j) for j in joints]], axis=1)
            at_start = g > rule.high if rule.start == "high" else g < rule.low
            turned = g < rule.low if rule.start == "high" else g > rule.high
            armed, inside = False, []
            for i in range(len(g)):
                if turned[i] and armed:
                    inside.append(i)
                    continue
                if inside:  # left the turned zone: the turn's deepest moment
                    turns.append((float(t[inside[int(np.argmin(sign * g[inside]))]]), name))
                    inside, armed = [], False
                if at_start[i]:
                    armed = True
    turns.sort()
    # One repetition holds one turn of each group, in time order.
    reps, k = [], 0
    while k + len(groups) <= len(turns):
        these = turns[k:k + len(groups)]
        if len({name for _, name in these}) == len(groups):
            reps.append((these[0][0], these[-1][0]))
            k += len(groups)
        else:
            k += 1
    if not reps:
        return []

    def most_toward_start(a: float, b: float, last: bool | None) -> float:
        inside = np.flatnonzero((t >= a) & (t <= b) & np.isfinite(startness))
        if not len(inside):
            return a if last else b
        near = inside[startness[inside] >= np.nanmax(startness[inside]) - TURN_SPAN_DEG]
        if last is None:
            return float((t[near[0]] + t[near[-1]]) / 2)
        return float(t[near[-1]] if last else t[near[0]])

    bounds = [most_toward_start(t[0], reps[0][0], last=True)]
    bounds += [most_toward_start(reps[k][1], reps[k + 1][0], last=None) for k in range(len(reps) - 1)]
    bounds.append(most_toward_start(reps[-1][1], t[-1], last=False))
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def instructor_cycle(routine: Routine) -> Routine | None:
    """The one cycle a routine that does not loop is scored against, repetition by repetition, as
    a looping routine's own cycle is (SessionScorer.posture): the instructor's typical repetition,
    at each of CYCLE_CELLS moments of it (each repetition of theirs, instructor_repetitions, taken
    at the same share of its own time) every joint's median over their repetitions, lasting their
    median repetition's time; as a looping routine. A median rather than one repetition of theirs:
    a real person's single repetition has its own wobbles (one elbow bent 30 deg at the top of one
    fast jumping jack) that would become a demand on every repetition of the participant's.
    None (the routine is a choreography, scored by frames) without a repetition rule, when the
    counted joints do not repeat (the self-correlation program build asks of a part before counting
    it, segment.periodicity: `routine build` gives a dance a rule on the joint that moves most, and
    a dance's steps are not repetitions of one movement), or without a repetition of the instructor's."""
    from common.coach import segment

    if routine.reps is None or routine.duration_s <= 0:
        return None
    track = np.full((int(routine.duration_s * REPEAT_HZ) + 1, len(ALL_ANGLES)), np.nan)
    for i in range(len(track)):
        target = routine.target(i / REPEAT_HZ)
        for j in routine.reps.joints:
            if j in target:
                track[i, ALL_ANGLES.index(j)] = target[j]
    if segment.periodicity(track, routine.reps.joints, REPEAT_HZ) < segment.PERIODIC:
        return None
    spans = instructor_repetitions(routine)
    if not spans:
        return None
    joints = list(routine.joints)
    shapes = np.array([[[routine.target(a + (b - a) * c / CYCLE_CELLS).get(j, np.nan) for j in joints]
                        for c in range(CYCLE_CELLS + 1)] for a, b in spans], dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a joint at a moment of no repetition: NaN
        typical = np.nanmedian(shapes, axis=0)
    cycle_s = float(np.median([b - a for a, b in spans]))
    keyframes = tuple(Keyframe(cycle_s * c / CYCLE_CELLS,
                               {j: round(float(v), 1) for j, v in zip(joints, row) if np.isfinite(v)})
                      for c, row in enumerate(typical))
    return dataclasses.replace(routine, keyframes=keyframes, loop=True, duration_s=cycle_s, video=None)


def movement_units(joints: list[str], cycle: np.ndarray) -> list[list[int]]:
    """The routine's parts as the repetition rules judge them (columns of `cycle`): a left/right
    pair with the same targets at every moment (a squat's knees, an arm raise's shoulders) is one
    part, its sides averaged (a 2D model reads the far leg of a squat seen at an angle much
    straighter than the near one); a pair that moves in turn (marching) is two."""
    units, done = [], set()
    for k, j in enumerate(joints):
        if k in done:
            continue
        other = mirror_name(j)
        m = joints.index(other) if other != j and other in joints else -1
        together = m >= 0 and np.allclose(np.nan_to_num(cycle[:, k]), np.nan_to_num(cycle[:, m]), atol=1.0)
        unit = [k, m] if together else [k]
        done.update(unit)
        units.append(unit)
    return units


def deeper_key(rule) -> str:
    """The correction that takes a repetition toward the routine's target: the counted joint's group
    closing its angle for a movement that starts with it open (a squat's knees: "knee.less"), else
    opening it (an arm raise's shoulders: "shoulder.more")."""
    group = rule.joints[0].replace("left_", "").replace("right_", "")
    return f"{group}.{'less' if rule.start == 'high' else 'more'}"


def joint_credit(error: np.ndarray, tolerance: np.ndarray, near: np.ndarray) -> np.ndarray:
    """1 within the tolerance, falling linearly to 0 at the edge of the near band, 0 beyond."""
    return np.clip((near - np.abs(error)) / np.maximum(near - tolerance, 1e-6), 0.0, 1.0)


def moving_part(rep: list[tuple[int, int]], angles: np.ndarray, tolerance: np.ndarray) -> list[tuple[int, int]]:
    """A repetition's path (pose, moment) without the poses before it that stay within each
    joint's tolerance of its first pose, nor those after it within tolerance of its last, but one
    of each: standing still before the first repetition, or resting between two, is the person
    waiting (the alignment parks them at a moment of the cycle), not a moment done. A repetition
    that never leaves its first pose (another movement that keeps the routine's joints still)
    is judged whole."""
    def still(a: int, b: int) -> bool:
        return bool(np.all(np.nan_to_num(np.abs(angles[a] - angles[b])) <= tolerance))

    first, last = 0, len(rep) - 1
    while first < last and still(rep[first + 1][0], rep[0][0]):
        first += 1
    if first == last:  # never moved the routine's joints: a repetition judged whole (another movement, or none)
        return rep
    while last > first and still(rep[last - 1][0], rep[-1][0]):
        last -= 1
    return rep[first:last + 1]


def _seconds_of(rep: list[tuple[int, int]], by_moment: dict, angles: np.ndarray, t0: float) -> dict:
    """second -> (sum of the figures of the moments the repetition's poses in it were aligned
    with, poses): each seen pose (a row of the grid from t0 at RESAMPLE_HZ) counts its moment's figure."""
    out: dict = {}
    for i, j in rep:
        if j in by_moment and not np.isnan(angles[i]).all():
            second = int(t0 + i / RESAMPLE_HZ)
            if second < MAX_SECONDS:
                figure_sum, poses = out.get(second, (0.0, 0))
                out[second] = (figure_sum + by_moment[j], poses + 1)
    return out


@dataclass
class FrameScore:
    joint_status: dict[str, str]
    joint_error_deg: dict[str, float]
    verdict: str
    offset_s: float
    reps: int
    score: float
    progress: float
    guidance: str
    phase: str
    angles: dict[str, float | None]
    scored: bool = True  # the running score rests on something judged (else it is a placeholder 0)
    # The session's strip as the score has judged it so far (SessionScorer.judged_strip: per second
    # c/n/w/-, the summary's `timeline` as it stands); the TV's live strip is this, not the frames' verdicts.
    strip: str | None = None


def _direction(joint: str, angle: float, target: float) -> str:
    """'more' = open the angle more (for a signed angle such as trunk_tilt: lean further to the
    side the routine asks for); 'less' = close it."""
    more = abs(angle) < abs(target) if joint in SIGNED_ANGLES else angle < target
    return "more" if more else "less"


def guidance_key(joint: str, angle: float, target: float, other_side: str = "", mirrored: bool = False) -> str:
    """Locale key for one line of advice about `joint`: '<side>_<group>.<more|less>' when only
    that side needs it ('left_shoulder.more': raise your left arm), '<group>.<more|less>' when
    the other side (`other_side`: its direction, or '') needs the same. The side is the
    participant's own: a mirrored routine has swapped their sides to compare them."""
    group = joint.replace("left_", "").replace("right_", "")
    direction = _direction(joint, angle, target)
    if group == joint or other_side == direction:
        return f"{group}.{direction}"
    side = joint[:joint.index("_")]
    if mirrored:
        side = "right" if side == "left" else "left"
    return f"{side}_{group}.{direction}"


@dataclass
class ViewEstimate:
    """Whether the person faces the camera, from the picture alone: shoulder width over trunk
    length is ~0.5-0.8 facing it and ~0.1-0.4 side-on (measured on ../shared/media with MoveNet:
    squats_5reps median 0.52, stretch_side_view 0.19). Smoothed over about a second, with a
    dead band, so a turn of the shoulders mid-movement does not flip it."""

    memory_s: float = 1.0
    frontal_above: float = 0.42
    side_below: float = 0.32
    ratio: float | None = None
    frontal: bool = False
    _t: float | None = None

    def update(self, t: float, common: np.ndarray) -> bool:
        ends = common[[COMMON_INDEX[n] for n in ("left_shoulder", "right_shoulder", "neck", "mid_hip")]]
        if ends[:, 2].min() < 0.3:
            return self.frontal
        trunk = float(np.hypot(*(ends[2, :2] - ends[3, :2])))
        if trunk <= 0:
            return self.frontal
        ratio = float(np.hypot(*(ends[0, :2] - ends[1, :2]))) / trunk
        dt = 0.1 if self._t is None else max(t - self._t, 1e-3)
        alpha = 1.0 - math.exp(-dt / self.memory_s)
        self.ratio = ratio if self.ratio is None else (1 - alpha) * self.ratio + alpha * ratio
        self._t = t
        if self.ratio > self.frontal_above:
            self.frontal = True
        elif self.ratio < self.side_below:
            self.frontal = False
        return self.frontal


# Angles taken in the picture's plane whatever the model: trunk_tilt is the trunk's lean toward the
# picture's right. For a person facing the camera it is a sideways lean (a side bend); side-on it is
# the forward lean, signed by the way the person faces, which trunk_lean already measures (in 3D with
# BlazePose). An instructor's side-on tilt is no demand on a person facing the camera (0 deg there
# while the target is -43 deg in a deep squat), nor on one side-on facing the other way (+43).
IMAGE_PLANE_JOINTS = ("trunk_tilt",)


def instructor_faces_camera(routine: Routine) -> bool | None:
    """Whether the instructor of a built routine faced the camera: the median over its keyframes'
    reference poses of shoulder width over trunk length, above ViewEstimate's frontal bound (the
    side-on squat clip 0.33, a front-view squat 0.6); None when the keyframes hold no poses."""
    ends = [COMMON_INDEX[n] for n in ("left_shoulder", "right_shoulder", "neck", "mid_hip")]
    ratios = []
    for kf in routine.keyframes:
        if not kf.keypoints or len(kf.keypoints) <= max(ends) or any(kf.keypoints[i] is None for i in ends):
            continue
        ls, rs, neck, hip = (np.asarray(kf.keypoints[i][:2], dtype=float) for i in ends)
        trunk = float(np.hypot(*(neck - hip)))
        if trunk > 0:
            ratios.append(float(np.hypot(*(ls - rs))) / trunk)
    return float(np.median(ratios)) > ViewEstimate.frontal_above if ratios else None


def view_stable(routine: Routine) -> Routine:
    """A routine built from a video (it does not loop) without the joints its instructor's view
    makes unlike a participant's (IMAGE_PLANE_JOINTS, when the instructor was not facing the
    camera); bundled routines (they loop) as they are. `program build` drops them as it writes a part
    (common/cli/program.py): here for files built before, and routines built by `routine build`."""
    if routine.loop or not any(j in routine.joints for j in IMAGE_PLANE_JOINTS) or instructor_faces_camera(routine) is not False:
        return routine
    return dataclasses.replace(routine, joints={j: r for j, r in routine.joints.items() if j not in IMAGE_PLANE_JOINTS})


TURN_BACK_SHARE = 0.25  # the person turned back: this share of the unit's range back from the closest
TURN_BACK_MIN_DEG = 8.0  # ... and at least this (angle noise at rest is a few degrees)


@dataclass
class RangeWatch:
    """The session score's turning-position rule, live (docs/scoring.md "Half the movement").

    Per frame the tracker can place a half movement at a moment of the routine it matches (a path
    may race through the deep part), so the colours alone would paint half a squat green while its
    session score is 0. This watches the person's own movement instead, independent of the
    tracker: each moving unit (a joint whose target spans MOVING_JOINT_DEG over the cycle; a
    left/right pair that turns at the same moment is one unit, its sides averaged as the session
    rule does, because a 2D model reads the far leg straighter) has a rest end and an extreme.
    How far short of its extreme the person is (signed: negative beyond it, so a squat deeper than
    the target is never short) falls as they go toward it and rises when they turn back (with
    hysteresis). Turning back more than the near band short of the extreme makes the unit *short*:
    its joints are not green and the cue says go further, until a repetition reaches it.

    The same per-repetition view decides which way a moving joint may be told to go per frame:
    once the person's last repetition reached the extreme within tolerance (or went beyond), a
    frame is never told to go further toward it (a fast squatter rising ahead of the judged moment
    read as "bend your knee more" per frame: a timing matter, not depth)."""

    routine: Routine
    tolerance_scale: float = 1.0
    units: list = field(default_factory=list)  # [joint names] per unit
    toward: dict = field(default_factory=dict)  # moving joint -> the cue direction toward its extreme
    _ext: dict = field(default_factory=dict)  # moving joint -> its extreme's target angle
    span: dict = field(default_factory=dict)  # moving joint -> how far its target goes from rest to extreme
    _sign: dict = field(default_factory=dict)  # moving joint -> +1 if the extreme is the larger angle
    _rest: dict = field(default_factory=dict)  # moving joint -> its rest end's target angle
    _state: list = field(default_factory=list)  # per unit: dict(mode, extremum, short, passed, cue)

    def __post_init__(self):
        if not (self.routine.loop and self.routine.cycle_s > 0):
            return  # a choreography has no repetitions (the session rule does not apply either)
        joints = list(self.routine.joints)
        cycle = cycle_targets(self.routine, joints)
        at: dict[str, int] = {}  # moving joint -> the cycle moment of its extreme
        rests: dict[str, float] = {}
        for k, j in enumerate(joints):
            col = cycle[:, k]
            if np.isnan(col).any() or np.ptp(col) < MOVING_JOINT_DEG:
                continue
            lo, hi = float(col.min()), float(col.max())
            rest, ext = (lo, hi) if abs(col[0] - lo) <= abs(col[0] - hi) else (hi, lo)
            self._ext[j], self._sign[j], rests[j] = ext, 1.0 if ext > rest else -1.0, rest
            self._rest[j] = rest
            self.span[j] = abs(ext - rest)
            self.toward[j] = _direction(j, rest, ext)
            at[j] = int(np.argmin(np.abs(col - ext)))
        done: set = set()
        for j in self._ext:
            if j in done:
                continue
            other = mirror_name(j)
            # Both sides turn together (squat, arm raise): one unit; alternating (marching): one each.
            together = other != j and other in self._ext and min(
                abs(at[j] - at[other]), len(cycle) - abs(at[j] - at[other])) <= len(cycle) // 12
            unit = [j, other] if together else [j]
            done.update(unit)
            self.units.append(unit)
            rules = [self.routine.joints[u] for u in unit]
            span = float(np.mean([abs(self._ext[u] - rests[u]) for u in unit]))
            self._state.append({"mode": "toward", "extremum": math.inf, "short": False, "passed": False, "cue": "",
                                "tol": self.tolerance_scale * float(np.mean([r.tolerance for r in rules])),
                                "near": self.tolerance_scale * float(np.mean([r.near for r in rules])),
                                "back": max(TURN_BACK_SHARE * span, TURN_BACK_MIN_DEG)})

    def _shortfall(self, unit: list[str], angles: dict) -> float | None:
        seen = [self._sign[j] * (self._ext[j] - angles[j]) for j in unit if angles.get(j) is not None]
        return float(np.mean(seen)) if seen else None

    def update(self, angles: dict) -> None:
        for unit, st in zip(self.units, self._state):
            short = self._shortfall(unit, angles)
            if short is None:
                continue
            tol, near, back = st["tol"], st["near"], st["back"]
            if short <= near:
                st["short"], st["cue"] = False, ""  # reached the turning position (or beyond)
            if st["mode"] == "toward":
                st["passed"] = st["passed"] or short <= tol
                if short < st["extremum"]:
                    st["extremum"], st["at"] = short, dict(angles)
                elif short > st["extremum"] + back:  # turned back at the extremum
                    reached = st["extremum"]
                    st["passed"] = reached <= tol
                    if reached > near:
                        st["short"], st["cue"] = True, self._cue(unit, st["at"])
                    st["mode"], st["extremum"] = "away", short
            else:
                if short > st["extremum"]:
                    st["extremum"] = short
                elif short < st["extremum"] - back:  # on the way to the extreme again
                    st["mode"], st["extremum"] = "toward", short
                    st["passed"] = st["passed"] or short <= tol

    def _cue(self, unit: list[str], angles: dict) -> str:
        seen = [j for j in unit if angles.get(j) is not None]
        j = max(seen, key=lambda x: self._sign[x] * (self._ext[x] - angles[x]))
        other = next((o for o in seen if o != j), "")
        both = bool(other) and self._sign[other] * (self._ext[other] - angles[other]) > 0
        return guidance_key(j, angles[j], self._ext[j], self.toward[j] if both else "", self.routine.mirror)

    def toward_sign(self, joint: str) -> float:
        """+1 when the moving joint's extreme is the larger angle than its rest end, else -1."""
        return self._sign[joint]

    def short_joints(self) -> set[str]:
        return {j for unit, st in zip(self.units, self._state) if st["short"] for j in unit}

    def cue(self) -> str:
        """Go further toward the extreme: the cue of a unit that turned back short, else ''."""
        return next((st["cue"] for st in self._state if st["short"] and st["cue"]), "")

    def past_the_turn(self, joint: str, angle: float, shown: float) -> bool:
        """Whether `joint` at `angle` has gone past the instructor's `shown` target in the direction
        the movement turns at, while the instructor is at that turn (within the joint's near band of
        one end of its range: the extreme, or the rest end). Being there is the turn done a little
        deeper or later, a matter of depth and timing, not a fault to correct by going back: at the
        bottom of a squat, deeper than the instructor, "push your hips forward and stand tall" would
        tell the person to leave the turn the instructor is still in. Not the phase's name (a top of
        the arm raise is the start of the phase 'down', where "raise your left arm" is still due):
        a joint short of the turn is still told to go further."""
        if joint not in self._ext:
            return False
        near = self.tolerance_scale * self.routine.joints[joint].near
        for end, outward in ((self._ext[joint], self._sign[joint]), (self._rest[joint], -self._sign[joint])):
            if abs(shown - end) <= near and outward * (angle - shown) > 0:
                return True
        return False

    def may_tell(self, joint: str, direction: str) -> bool:
        """Whether a frame may tell `joint` to move `direction`: not further toward its extreme
        once the person's repetition reached it within tolerance or went beyond."""
        if self.toward.get(joint) != direction:
            return True
        return not any(st["passed"] for unit, st in zip(self.units, self._state) if joint in unit)


@dataclass
class SessionScorer:
    routine: Routine
    tolerance_scale: float = 1.0
    lag_window_s: float = 1.5
    naive: bool = False
    participant: object = None  # a config participant (age, sex) for a count test's norm; None: a guest
    # A joint is judged against the routine's targets within one of the participant's frame
    # intervals of the position judged (at most this): a pose is a sample every frame, so the
    # alignment cannot place it closer, and a fast movement at 5-10 fps sweeps 15 degrees in
    # less than a frame (docs/scoring.md).
    max_timing_slack_s: float = 0.2
    frames: int = 0
    frames_scored: int = 0
    frames_correct: int = 0
    hold_s: float = 0.0
    _prev_t: float | None = None
    _frame_interval_s: float = 0.0  # the participant's frame interval, smoothed
    _joint_seen: dict = field(default_factory=dict)
    _joint_correct: dict = field(default_factory=dict)
    _angles_seen: dict = field(default_factory=dict)
    _view: ViewEstimate = field(default_factory=ViewEstimate)
    _timing: list = field(default_factory=list)  # (clock t, routine position) of scored frames
    _timeline: VerdictTimeline = field(default_factory=VerdictTimeline)
    framing: FramingMonitor = field(default_factory=FramingMonitor)
    # (t, angle of each routine joint or NaN) of every scored frame: the repetitions are aligned
    # with the routine's cycle from these (posture()).
    _samples: list = field(default_factory=list)
    # A routine that does not loop, or naive: joint -> [sum of angle, of target, n] over the frames
    # it was not green (the direction of the weakest joint's advice).
    _joint_off: dict = field(default_factory=dict)
    # Per sample of _samples: how high the hips are above the feet (stance()), for the routine's position.
    _stance: list = field(default_factory=list)
    _posture: dict | None = None
    # The alignment kept from one running score to the next (only new poses are aligned), the
    # poses it was given, and each repetition's judgement by its path (dropped when a pose in it changed).
    _alignment: CycleAlignment | None = None
    _aligned: np.ndarray | None = None
    _judged: dict = field(default_factory=dict)
    _splits: dict = field(default_factory=dict)  # a piece of the path holding counted repetitions -> its parts
    _posture_t: float = -1e9
    _posture_reps: int = 0  # the repetitions counted when the running score was last worked out
    # Each repetition the counter counted: (its middle in routine seconds, the counter's group:
    # "both", "left", "right"); a repetition of the cycle is judged as the movement only with one of
    # each group in it (_counted_in). Known from _counted_since (a checkpoint before them had none).
    _counted: list = field(default_factory=list)
    _counted_since: float = -math.inf
    _middles_taken: dict = field(default_factory=dict)  # group -> how many of its counter's middles are in _counted
    # When the pose followed became another person's (geometry.another_body), and the last pose's (t, hip x, y, trunk).
    _switches: list = field(default_factory=list)
    _last_body: tuple | None = None
    # Before the first movement (_before_first_movement): the moving joints' angles nearest their rest end
    # seen so far, whether the movement began, and how many frames in a row have moved.
    _rest_angles: dict = field(default_factory=dict)
    _started: bool = False
    _moves_seen: int = 0
    # Frames a 2D model read the person facing the camera for a side-view routine (the TV asked them to
    # turn sideways), and frames read at all after the countdown: seen_not_measured.
    _asked_side_on: int = 0
    _frames_read: int = 0
    _forgotten_before: float = -math.inf  # poses before this routine time were another movement's (forget_before)

    def __post_init__(self):
        self.routine = view_stable(self.routine)
        # naive: the same timestamp, like the first prototype; no alignment at all.
        self.tracker = None if self.naive else TempoTracker(self.routine, start_window_s=self.lag_window_s)
        # The one cycle the session score aligns each repetition with: a looping routine's own; one
        # that does not loop but has repetitions (built from a video, a program's part): its
        # instructor's typical repetition (the median of their repetitions' shapes); None: scored
        # by frames (a choreography, naive).
        self.cycle = None if self.naive else (
            self.routine if self.routine.loop and self.routine.cycle_s > 0 else instructor_cycle(self.routine))
        # A cycle found in a routine's keyframes rather than the routine's own loop: the routine was
        # built from an instructor's video (a built routine, a program's part).
        self.built = self.cycle is not None and self.cycle is not self.routine
        self.reps = RepCounter(self.routine.reps, self.routine.rep_reference()) if self.routine.reps else None
        # The points the routine's scored and counted joints are taken from: an upper-body routine
        # is not told to step back when the picture cuts the legs (common/coach/framing.py).
        self._needs = needed_points([*self.routine.joints, *(self.routine.reps.joints if self.routine.reps else ())])
        # The turning-position rule live: half the movement is not painted green (None: naive).
        self.range_watch = None if self.naive else RangeWatch(self.routine, self.tolerance_scale)

    # -- per frame --------------------------------------------------------------------------
    def update(self, t: float, common: np.ndarray | None, world: np.ndarray | None = None,
               frame_size: tuple[int, int] | None = None) -> FrameScore:
        """Score one pose at routine time t (seconds since the routine started). With the
        picture's (width, height), points out of the picture are not seen (common/coach/framing.py)."""
        self.frames += 1
        present = common is not None and len(common) > 0
        parts: frozenset = frozenset()
        if present and frame_size is not None:
            common, parts = in_view(common, *frame_size, self._needs)
        setup_cue = self.framing.update(t, parts, present) if frame_size is not None else ""
        if present and self.routine.mirror:
            common = mirror(common, 0.0)  # the flip's x origin does not change any angle
            world = None if world is None else world[list(MIRROR_SWAP)]
        angles = joint_angles(common, world) if present else {}
        seen = joint_visibility(common) if present else None
        if t < 0:
            # The countdown: not scored, but the repetition counter sees the start position
            # (a chair-stand test begins seated at "go"), and the setup cue is shown.
            self.frames -= 1
            if self.reps:
                self.reps.update(t, angles, seen, common, world)
            return FrameScore({j: "none" for j in self.routine.joints}, {}, "none", 0.0,
                              self.reps.count if self.reps else 0, 0.0, 0.0, setup_cue, "countdown", angles)
        if self.tracker is None:
            position, rejoined = t, False
        else:
            before = self.tracker.rejoined
            position = self.tracker.update(t, angles)
            rejoined = self.tracker.rejoined > before
        if self._prev_t is not None and t > self._prev_t:
            dt = t - self._prev_t
            self._frame_interval_s = dt if not self._frame_interval_s else 0.8 * self._frame_interval_s + 0.2 * dt
        slack = min(self._frame_interval_s, self.max_timing_slack_s)
        # The score's own per-frame accounting (a choreography's score, frames_scored/correct, the
        # direction of its advice), unchanged: each joint its nearest target within the timing slack.
        band = self.routine.target_range(position, slack)
        target = {j: min(max(angles[j], lo), hi) for j, (lo, hi) in band.items() if angles.get(j) is not None}
        status, errors = self._judge_joints(angles, target)
        # What the TV shows: the pose judged against one moment, within the slack the one closest to
        # it, and the instructor panel shows that moment (Score.routine_t_s - offset_s), so the colours
        # and the words are about the instructor on screen. (Each joint its own nearest target painted
        # a person at the bottom of the demo's fast squat green beside an instructor nearly upright.)
        # A routine of repetitions: within MATCH_CYCLE_SHARE of a cycle of the tracked position (the
        # online tracker's own uncertainty, where the session score's alignment finds the moment later).
        window = max(slack, MATCH_CYCLE_SHARE * self.routine.cycle_s) if self.range_watch is not None and \
            self.range_watch.span else slack
        judged_at = self._matched_moment(position, angles, window)
        offset = t - judged_at
        here = {j: a for j, a in self.routine.target(judged_at).items() if angles.get(j) is not None}
        shown_status, shown_errors = self._judge_joints(angles, here)
        watch = self.range_watch
        if watch is not None:
            watch.update(angles)
            for j in watch.short_joints():  # this repetition turned back short of the turning position
                for st in (status, shown_status):
                    if st.get(j) == "correct":
                        st[j] = "near"
        verdict, shown_verdict = self._verdict(status), self._verdict(shown_status)
        self._account(t, status, angles, verdict, seen, common, world)
        self._record_posture(t, status, angles, errors, target, common)
        # The joint furthest off from the moment shown, among the cues that may be said (per frame,
        # "further toward the extreme" is a timing matter once the repetition reached it: RangeWatch.may_tell;
        # nor is "go back" to a joint past the instructor at the turn the instructor is in: RangeWatch.past_the_turn).
        worst = max((j for j in shown_errors if shown_status[j] in ("near", "wrong") and j in here
                     and (watch is None or (watch.may_tell(j, _direction(j, angles[j], here[j]))
                                            and not watch.past_the_turn(j, angles[j], here[j])))),
                    key=lambda j: abs(shown_errors[j]), default="")
        guidance = watch.cue() if watch is not None else ""  # go further: the repetition fell short
        if guidance and self.reps is not None and self.routine.kind not in COUNT_TESTS \
                and shallow_depth({"rep_depth": self.reps.depth()}):
            # Going further, with their counted repetitions shallower than the target: the movement's one
            # word for going deeper (a squat's "조금 더 깊게 앉아 보세요"), as the summary says it.
            guidance = deeper_key(self.routine.reps)
        if worst and not guidance:
            other = mirror_name(worst)
            other_side = (_direction(other, angles[other], here[other])
                          if shown_status.get(other) in ("near", "wrong") else "")
            guidance = guidance_key(worst, angles[worst], here[worst], other_side, self.routine.mirror)
        # A 2D model (no world landmarks) cannot see a movement toward the camera: ask the person
        # to stand side-on rather than tell them a correct squat is wrong.
        self._frames_read += present
        if world is None and self.routine.view == "side" and common is not None and self._view.update(t, common):
            guidance = TURN_SIDEWAYS
            self._asked_side_on += 1
        if rejoined:  # a whole movement behind: re-joined at the next one, and told that is fine
            guidance = SLOW_IS_FINE
        if setup_cue:  # the view first: advice about joints the camera cannot see would be a guess
            guidance = setup_cue
        if self._before_first_movement(t, angles):
            # Standing (or sitting) still before the first repetition is waiting, not the movement done
            # badly: the session score does not judge it (moving_part) and the TV neither colours it nor
            # coaches it ("무릎을 쭉 펴고 일어서세요" to a man already standing). How to stand for the
            # camera is still said; after STOPPED_S of stillness PersonSession invites them to follow.
            shown_status, shown_errors, shown_verdict = {j: "none" for j in status}, {}, "none"
            guidance = guidance if guidance in (setup_cue, TURN_SIDEWAYS) else ""
        if verdict != "none" and self.tracker is not None:
            # The movement actually done: re-joining skips a cycle of the routine, not of the person.
            self._timing.append((t, position + (self.tracker.ahead - self.tracker.rejoined) * self.routine.cycle_s))
        return FrameScore(
            joint_status=shown_status, joint_error_deg=shown_errors, verdict=shown_verdict, offset_s=round(offset, 3),
            reps=self.reps.count if self.reps else 0, score=self.score(),
            progress=min(1.0, max(0.0, t / self.routine.duration_s)) if self.routine.duration_s else 0.0,
            guidance=guidance,
            phase=self.routine.phase(judged_at), angles=angles, scored=self.running_score_judged(),
            strip=self.judged_strip())

    def _judge_joints(self, angles: dict, targets: dict) -> tuple[dict, dict]:
        """Each routine joint's status against `targets` (joint -> angle; a joint not in it: 'none')
        and its signed error."""
        status, errors = {}, {}
        for j, rule in self.routine.joints.items():
            if j not in targets:
                status[j] = "none"
                continue
            err = angles[j] - targets[j]
            errors[j] = round(err, 1)
            tol, near = rule.tolerance * self.tolerance_scale, rule.near * self.tolerance_scale
            status[j] = "correct" if abs(err) <= tol else "near" if abs(err) <= near else "wrong"
        return status, errors

    def _matched_moment(self, position: float, angles: dict, slack_s: float) -> float:
        """The routine moment within ±slack_s of `position` whose pose the person's is closest to:
        the best verdict there, then the smallest sum of joint errors, then the nearest to `position`."""
        if slack_s <= 0:
            return position
        scale = self.tolerance_scale
        video = getattr(self.routine, "video", None)
        if video is not None and video.fps > 0:
            # The instructor's own video: the TV shows frame i for routine times i/fps to (i+1)/fps, so
            # only the frames' own moments are candidates (the demo's squat moves 55 degrees in one
            # frame: between two frames the target was deep in the squat beside an upright picture).
            moments = [k / video.fps + FRAME_MARGIN_S for k in range(math.floor((position - slack_s) * video.fps),
                                                                     math.ceil((position + slack_s) * video.fps) + 1)]
        else:
            moments = [position + slack_s * k / MATCH_STEPS for k in range(-MATCH_STEPS, MATCH_STEPS + 1)]
        best, best_key = position, None
        for at in moments:
            at = min(max(at, 0.0), self.routine.duration_s)
            here = self.routine.target(at)
            worst, total = 0, 0.0
            for j, rule in self.routine.joints.items():
                a = angles.get(j)
                if a is None or j not in here:
                    continue
                e = abs(a - here[j])
                worst = max(worst, 1 if e <= rule.tolerance * scale else 2 if e <= rule.near * scale else 3)
                total += min(e, ERROR_CAP_DEG)
            key = (worst, total, abs(at - position))
            if best_key is None or key < best_key:
                best, best_key = at, key
        return best

    def _before_first_movement(self, t: float, angles: dict) -> bool:
        """Whether the person has not begun the routine's movement yet: no repetition counted and
        none of the joints that make it (RangeWatch's) has gone REST_SHARE of the routine's own range
        toward its extreme from the nearest to its rest end it has been, on two frames in a row (one
        misread frame is not a start). From the rest end, not from the first frame: a session that
        opens mid-movement (the lateral raiser's arms still coming down from a raise, 20 deg above his
        rest) measured his raises from there, 40-45 deg of the 50 needed, so no raise ever began the
        movement and shoulder-height raises under arm_raise were neither counted nor corrected.
        Only a routine of repetitions (a choreography's start is part of it)."""
        watch = self.range_watch
        if self._started or watch is None or not watch.span or t < 0:
            return False
        if self.reps and self.reps.count:
            self._started = True
            return False
        moved = False
        for j, span in watch.span.items():
            a = angles.get(j)
            if a is None:
                continue
            toward = watch.toward_sign(j)
            rest = self._rest_angles.get(j, a)
            rest = a if toward * (a - rest) < 0 else rest
            self._rest_angles[j] = rest
            moved = moved or toward * (a - rest) >= REST_SHARE * span
        self._moves_seen = self._moves_seen + 1 if moved else 0
        self._started = self._moves_seen >= 2
        return not self._started

    def judged_strip(self) -> str:
        """The session's strip as the score judges it now, the summary's `timeline` so far: a
        routine of repetitions, the running posture's (per second the aligned repetitions' figure,
        '-' outside them; seconds after the last judged repetition are not judged yet); else the
        frames' verdicts, as its summary has them, the second still filling left out."""
        if self.cycle is not None:
            return (self._posture or {}).get("timeline") or ""
        return self._timeline.codes()[:-1]

    @staticmethod
    def _verdict(status: dict[str, str]) -> str:
        seen = [s for s in status.values() if s != "none"]
        if len(seen) * 2 < len(status):  # most joints hidden: no verdict rather than a guess
            return "none"
        return max(seen, key=STATUS_ORDER.__getitem__)

    def _account(self, t: float, status, angles, verdict, seen=None, common=None, world=None) -> None:
        self._timeline.add(t, verdict)
        if verdict != "none":
            self.frames_scored += 1
            if verdict == "correct":
                self.frames_correct += 1
                # A hold counts time only while the posture is correct (gaps capped at 0.2 s).
                if self.routine.kind == "balance_hold" and self._prev_t is not None:
                    self.hold_s += min(0.2, max(0.0, t - self._prev_t))
        self._prev_t = t
        for j, s in status.items():
            if s != "none":
                self._joint_seen[j] = self._joint_seen.get(j, 0) + 1
                self._joint_correct[j] = self._joint_correct.get(j, 0) + (s == "correct")
        for j, a in angles.items():
            # Only a joint seen well (as the repetition counter decides): a knee guessed behind a
            # table gives the hip an angle, but not one to record as the person's range.
            if a is not None and (seen is None or seen.get(j, 1.0) >= SEEN_WELL):
                self._angles_seen.setdefault(j, []).append(a)
        if self.reps:
            self.reps.update(t, angles, seen, common, world)
            self._note_counted()

    def _note_counted(self) -> None:
        """Each repetition the counter has just counted, by its middle, and its group."""
        for name, counter in self.reps.counters.items():
            taken = self._middles_taken.get(name, 0)
            self._counted.extend((m, name) for m in counter.middles[taken:])
            self._middles_taken[name] = len(counter.middles)

    def forget_before(self, t: float) -> None:
        """The poses before routine time t were another movement's, not this routine's (a program's
        part before, which the person was still finishing): none of them is judged, nor a repetition
        counted in them (common/coach/program_session.py _hand_over)."""
        self._forgotten_before = max(self._forgotten_before, t)
        if not self._samples or self._samples[0][0] >= t:
            return
        keep = [k for k, (at, _) in enumerate(self._samples) if at >= t]
        if len(self._stance) == len(self._samples):
            self._stance = [self._stance[k] for k in keep]
        self._samples = [self._samples[k] for k in keep]
        self._counted = [(m, name) for m, name in self._counted if m >= t]
        self._switches = [at for at in self._switches if at >= t]
        self._alignment, self._aligned, self._judged, self._splits = None, None, {}, {}
        self._posture = None  # worked out again on the poses kept

    def take_back(self, group: str, middles: list) -> None:
        """Repetitions the counter's `group` took back (by their middles: a program's part whose
        repetition was the next part's): no longer counted here."""
        gone = list(middles)
        kept = []
        for m, name in self._counted:
            if name == group and m in gone:
                gone.remove(m)
                continue
            kept.append((m, name))
        self._counted = kept
        if self.reps is not None and group in self.reps.counters:
            self._middles_taken[group] = len(self.reps.counters[group].middles)
        self._posture = None

    def _note_switch(self, t: float, common: np.ndarray | None) -> None:
        """Whether the pose followed is now another person's (geometry.another_body)."""
        if common is None or not len(common):
            return
        neck, hips = common[COMMON_INDEX["neck"]], common[COMMON_INDEX["mid_hip"]]
        if min(neck[2], hips[2]) < STANCE_SEEN:
            return
        body = (t, float(hips[0]), float(hips[1]), float(np.hypot(*(neck[:2] - hips[:2]))))
        if another_body(self._last_body, body):
            self._switches.append(t)
        self._last_body = body

    def _record_posture(self, t: float, status, angles, errors, target, common=None) -> None:
        if not any(s != "none" for s in status.values()) or t < self._forgotten_before:
            return
        self._samples.append((t, [np.nan if angles.get(j) is None else float(angles[j]) for j in self.routine.joints]))
        self._stance.append(stance(common))
        self._note_switch(t, common)
        for j in errors:
            if status[j] != "correct":
                off = self._joint_off.setdefault(j, [0.0, 0.0, 0])
                off[0], off[1], off[2] = off[0] + angles[j], off[1] + target[j], off[2] + 1

    # -- checkpoint (so a restarted scoring service continues the session) -------------------
    def checkpoint(self) -> dict:
        """What a restarted scorer needs to go on with this session (JSON-safe). The alignment
        estimate and the repetition state machine start afresh; counts and samples carry over."""
        return {"frames": self.frames, "frames_scored": self.frames_scored, "frames_correct": self.frames_correct,
                "hold_s": self.hold_s, "joint_seen": self._joint_seen, "joint_correct": self._joint_correct,
                "angles": {j: [round(a, 1) for a in v[-3000:]] for j, v in self._angles_seen.items()},
                "reps": self.reps.count if self.reps else 0, "timeline": self._timeline.counts,
                "reps_by_side": self.reps.by_side() if self.reps else {},
                "framing": self.framing.checkpoint(),
                "samples": [[round(t, 3), *(None if np.isnan(a) else round(a, 1) for a in v)] for t, v in self._samples],
                "stance": [None if np.isnan(h) else round(h, 3) for h in self._stance],
                "joint_off": self._joint_off,
                "counted": [[round(m, 3), name] for m, name in self._counted], "counted_since": None if math.isinf(self._counted_since) else self._counted_since,
                "switches": [round(s, 3) for s in self._switches]}

    def restore(self, state: dict) -> None:
        self.frames, self.frames_scored = state["frames"], state["frames_scored"]
        self.frames_correct, self.hold_s = state["frames_correct"], state["hold_s"]
        self._joint_seen, self._joint_correct = dict(state["joint_seen"]), dict(state["joint_correct"])
        self._angles_seen = {j: list(v) for j, v in state["angles"].items()}
        if self.reps:
            self.reps.restore(state["reps"], state.get("reps_by_side"))
        self._timeline = VerdictTimeline([list(c) for c in state.get("timeline", [])])
        if "framing" in state:  # a checkpoint written before framing was kept has none
            self.framing.restore(state["framing"])
        self._samples = [(row[0], [np.nan if a is None else a for a in row[1:]]) for row in state.get("samples", [])]
        stances = [np.nan if h is None else h for h in state.get("stance", [])]
        self._stance = stances if len(stances) == len(self._samples) else [np.nan] * len(self._samples)
        self._joint_off = {j: list(v) for j, v in state.get("joint_off", {}).items()}
        self._switches = list(state.get("switches", []))
        if self.reps:  # a restored counter keeps its count, not the middles before it
            self._middles_taken = {name: len(c.middles) for name, c in self.reps.counters.items()}
        if "counted" in state:
            self._counted = [(float(m), str(name)) for m, name in state["counted"]]
            since = state.get("counted_since")
            self._counted_since = -math.inf if since is None else float(since)
        else:  # a checkpoint that kept no counting times: the repetitions before it are not held to them
            self._counted, self._counted_since = [], self._samples[-1][0] if self._samples else -math.inf

    # -- session ----------------------------------------------------------------------------
    def score(self) -> float:
        """The session's result on 0-100: the posture score (POSTURE_SCORE_DEFINITION); a count
        test's count against the norm (test_result); a hold's seconds against its target.
        During a session it is worked out again every RUNNING_SCORE_EVERY_S."""
        t = self._samples[-1][0] if self._samples else 0.0
        reps = self.reps.count if self.reps else 0
        # Again as each repetition ends too: the TV's number then moves with what the person did;
        # and often while nothing is judged yet, so that the TV's '-' turns into a number as soon as
        # the first whole repetition of the cycle is there (it ends after the counter counts it).
        unjudged = self._posture is not None and self._posture.get("repetitions_judged") == 0
        if (self._posture is None or t - self._posture_t >= RUNNING_SCORE_EVERY_S or reps != self._posture_reps
                or (unjudged and reps > 0 and t - self._posture_t >= UNJUDGED_RETRY_S)):
            self._posture, self._posture_t, self._posture_reps = self.posture(), t, reps
        return self._result_score(self._posture)

    def running_score_judged(self) -> bool:
        """Whether score() rests on anything judged yet: a looping routine's posture score has
        nothing before a first whole repetition of its cycle (a routine built from a long video is
        one long cycle); a count test, a hold and a choreography always have."""
        if self.routine.kind in COUNT_TESTS or self.routine.kind == "balance_hold" or self._posture is None:
            return True
        return self._posture.get("repetitions_judged") != 0

    def _result_score(self, posture: dict) -> float:
        if self.routine.kind in COUNT_TESTS:
            return self.test_result()["score"]
        if self.routine.kind == "balance_hold" and self.routine.hold_s > 0:
            return round(100.0 * min(1.0, self.hold_s / self.routine.hold_s), 1)
        return posture["score"]

    def test_result(self, participant=None) -> dict:
        """A count test's result: the repetitions within the test's time against the norm for the
        participant's age and sex (common/coach/norms.py); score = the count as a share of the
        top of the normal range, capped at 100. Posture faults do not lower it."""
        participant = participant if participant is not None else self.participant
        seconds = min(self._samples[-1][0], self.routine.duration_s) if self._samples else 0.0
        count = self.reps.count if self.reps else 0
        norm = norms.normal_range(self.routine.kind, getattr(participant, "age", None), getattr(participant, "sex", ""))
        out = {"count": count, "seconds": round(seconds, 1), "test_s": self.routine.duration_s,
               "complete": seconds >= self.routine.duration_s - 0.5, **norm}
        # A test cut short (the video ended, the session was stopped) is not compared with the norm.
        out["rating"] = norms.rating(count, norm["low"], norm["high"]) if out["complete"] else "incomplete"
        out["score"] = round(min(100.0, 100.0 * count / norm["high"]), 1)
        return out

    def posture(self, final: bool = False) -> dict:
        """The posture score and each joint's figure (POSTURE_SCORE_DEFINITION), weakest first,
        with the weakest joint's advice (a locale key) and how many repetitions were judged.
        `final`: the session is over (summary); before that a first repetition the counter holds
        back for a second like it (RepRule.repeats) is not judged yet."""
        joints = list(self.routine.joints)
        rules = [self.routine.joints[j] for j in joints]
        tol = np.array([r.tolerance for r in rules]) * self.tolerance_scale
        near = np.array([r.near for r in rules]) * self.tolerance_scale
        if self.cycle is not None:
            judged = self._posture_by_repetition(joints, tol, near, final)
        else:
            # A choreography (a routine built from a video with no repetitions) has none to align:
            # the share of its time in the instructor's posture as TempoTracker follows it, every
            # joint green at once (an average of joint figures let another dance score 71 against
            # one, tests/test_alignment_real.py); each joint's figure is its share of green frames.
            judged = {"figures": {j: self._joint_correct.get(j, 0) / n for j, n in self._joint_seen.items() if n},
                      "off": self._joint_off, "repetitions": None, "not_reached": 0}
        figures = judged["figures"]
        score = round(100.0 * float(np.mean(list(figures.values()))), 1) if figures else 0.0
        if self.naive or judged["repetitions"] is None:  # frames with every joint green (also the prototype's)
            score = round(100.0 * self.frames_correct / self.frames_scored, 1) if self.frames_scored else 0.0
        unreached = judged.get("unreached", {})  # a tie (all 0 when no repetition reached): the joints short first
        ordered = dict(sorted(((j, round(float(v), 3)) for j, v in figures.items()),
                              key=lambda kv: (kv[1], -unreached.get(kv[0], 0))))
        weakest = next(iter(ordered), "")
        advice = ""
        off = judged["off"].get(weakest)
        if weakest and ordered[weakest] < 0.999 and off and off[2]:
            advice = guidance_key(weakest, off[0] / off[2], off[1] / off[2], mirrored=self.routine.mirror)
        return {"score": score, "joints": ordered, "weakest": weakest, "advice": advice,
                "repetitions_judged": judged["repetitions"], "repetitions_not_reached": judged["not_reached"],
                "not_the_movement": judged.get("why_not", {}),
                "of_another_person": judged.get("other_person", 0),
                # Per second, c/n/w/- from the same repetitions (None: not judged by repetition).
                "timeline": judged.get("timeline") if judged["repetitions"] is not None else None}

    def _posture_by_repetition(self, joints: list[str], tol: np.ndarray, near: np.ndarray, final: bool = False) -> dict:
        empty = {"figures": {}, "off": {}, "repetitions": 0, "not_reached": 0}
        if len(self._samples) < 2:
            return empty
        t = np.array([s[0] for s in self._samples])
        stances = self._stance if len(self._stance) == len(self._samples) else [np.nan] * len(self._samples)
        both = resample(t, np.column_stack([np.array([s[1] for s in self._samples], dtype=float), stances]))
        angles, body = both[:, :-1], both[:, -1]
        cycle = cycle_targets(self.cycle, joints)
        if self._alignment is None:
            self._alignment = CycleAlignment(cycle)
        changed = first_change(both, self._aligned if self._aligned is not None else both[:0])
        self._aligned = both
        self._judged = {key: v for key, v in self._judged.items() if key[0][-1][0] < changed}
        self._splits = {key: v for key, v in self._splits.items() if key[-1][0] < changed}
        path = self._alignment.align(angles)
        def seconds_of(rep) -> tuple[float, float]:
            return float(t[0]) + rep[0][0] / RESAMPLE_HZ, float(t[0]) + rep[-1][0] / RESAMPLE_HZ

        def switched(rep) -> bool:
            start, end = seconds_of(rep)
            return any(start < s <= end for s in self._switches)

        span = np.nan_to_num(np.nanmax(cycle, axis=0) - np.nanmin(cycle, axis=0))
        # The joints that make the movement; in a small movement (a seated march lifts the knee
        # 25 deg) those that move the most.
        moving = span >= min(MOVING_JOINT_DEG, float(span.max(initial=0.0))) if span.any() else span > 0
        turn = int(np.argmax(np.nansum(np.abs(cycle - cycle[0])[:, moving], axis=1))) if moving.any() else 0
        # A built routine recognised as a known movement (program build gave it that movement's own
        # repetition rule) is that rule's movement: the joints it counts reach the range and the turn,
        # and the joints it holds still (RepRule.still) stay so; another joint the instructor
        # happened to move too (the trunk leaning 49 deg into a deep squat) or to hold (a front-view
        # instructor's picture-plane trunk tilt, a side-on squatter's forward lean) is judged joint
        # by joint, never making a whole repetition another movement (a person squatting well with
        # the trunk at 26 deg scored 0 on every joint). Nor do the joints it moves with the counted
        # ones (RepRule.moves_with: a squat's hips): their angle is the counted joints' plus the
        # person's own choice (a squat's hip angle is the thigh's bend and the trunk's lean: 45 deg
        # for a side-on instructor leaning 49 deg, 84 for a front-view squatter with arms up at the
        # same depth), and the counter already asks that they moved along, relative to the
        # person's own movement. An unrecognised part's rule is only the joint that moves most (a
        # sit-up's hips, which a squat bends too): every joint its cycle moves makes it, and every
        # joint it holds, as a bundled routine's.
        defining, holding = moving, None
        if (self.built and self.routine.reps is not None and self.routine.movement
                and self.routine.movement != "joint"):
            counted_moving = moving & np.array([j in self.routine.reps.joints for j in joints], dtype=bool)
            defining = counted_moving if counted_moving.any() else moving
            holding = np.array([j in self.routine.reps.still for j in joints], dtype=bool)
        # The turning position's moments: every moving joint's target within TURN_SPAN_DEG of it there.
        at_turn = np.nan_to_num(np.abs(cycle - cycle[turn])[:, moving], nan=0.0).max(axis=1, initial=0.0) <= TURN_SPAN_DEG
        units = movement_units(joints, cycle)

        def reaches(rep) -> bool:  # through the turn and the range, at least in part (SHORT_RAMP_SHARE)
            judged = self._judge(rep, angles, body, cycle, tol, near, at_turn, units, moving, True, defining, holding)
            return judged is None or judged[0] not in ("turn", "range")

        middles = {name: np.sort([m for m, g in self._counted if g == name]) for name in (self.reps.counters if self.reps else ())}
        reps = self._each_counted_once(repetitions(path, len(cycle), min_cover=0.0), angles, cycle, float(t[0]), middles,
                                       seconds_of, reaches)
        # A repetition during which the pose followed became another person's is nobody's: not judged.
        kept = [rep for rep in reps if not switched(rep)]
        mixed, reps = len(reps) - len(kept), kept
        credit, seen, unreached = np.zeros(len(joints)), np.zeros(len(joints)), np.zeros(len(joints))
        off = np.zeros((3, len(joints)))  # sums of angle, target and count where not within tolerance
        not_reached = 0
        why_not = {"turn": 0, "range": 0, "level": 0, "held": 0, "position": 0, "count": 0}
        per_second = defaultdict(lambda: [0.0, 0])  # second -> sum of the figures of its aligned poses, poses
        # A first repetition the counter holds back until a second like it passes (RepRule.repeats)
        # is not judged while the session runs: judged "not counted" it painted the strip red for a
        # squat while the TV praised it green, then turned green (the demo's drawn squats, 5-9 s).
        # At the session's end (final) one still waiting was not counted, and is judged so.
        waiting = [] if final or self.reps is None else [c.waiting[2] for c in self.reps.counters.values() if c.waiting]
        pending = 0
        # Each counted repetition's depth against the routine's target, by its middle (the counter's).
        depth_at = {(name, m): d for name, c in (self.reps.counters.items() if self.reps else ())
                    for m, d in zip(c.middles, c.depths)}
        for rep in reps:
            counted = self._counted_in(*seconds_of(rep), middles)
            if not counted and any(seconds_of(rep)[0] <= m <= seconds_of(rep)[1] for m in waiting):
                pending += 1
                continue
            key = (tuple(rep), counted)
            if key not in self._judged:
                start, end = seconds_of(rep)
                depths = [d for (name, m), d in depth_at.items() if start <= m <= end]
                judged = self._judge(rep, angles, body, cycle, tol, near, at_turn, units, moving, counted, defining,
                                     holding, depth=min(depths) if counted and depths else None)
                if judged is not None:  # its seconds, kept with it (a long session has thousands of repetitions)
                    judged = (*judged[:5], _seconds_of(moving_part(rep, angles, tol), judged[5], angles, float(t[0])))
                self._judged[key] = judged
            judged = self._judged[key]
            if judged is None:
                continue
            why, short, earned_sum, has_sum, missed_sums, seconds = judged
            for second, (figure_sum, poses) in seconds.items():
                per_second[second][0] += figure_sum
                per_second[second][1] += poses
            if why:
                not_reached += 1
                why_not[why] += 1
                unreached += short  # the joints that made it another movement: named first
            credit += earned_sum
            seen += has_sum
            off += missed_sums
        figures = {j: credit[k] / seen[k] for k, j in enumerate(joints) if seen[k]}
        # The strip of the same judgement: a second's code is the figure of the repetitions' moments
        # done in it, coloured as a joint's figure is (share_verdict); a second in no judged
        # repetition (before the first, after the last, a rest between) is not judged ('-'), not wrong.
        last = min(int(t[-1]) + 1, MAX_SECONDS)
        strip = "".join(CODES[share_verdict(per_second[sec][0] / per_second[sec][1])] if per_second[sec][1] else UNSCORED
                        for sec in range(last))
        return {"figures": figures, "off": {j: off[:, k].tolist() for k, j in enumerate(joints)},
                "timeline": strip,
                "unreached": {j: int(unreached[k]) for k, j in enumerate(joints)},
                "repetitions": len(reps) - pending, "other_person": mixed,
                "not_reached": not_reached, "why_not": why_not}

    def _each_counted_once(self, pieces: list, angles: np.ndarray, cycle: np.ndarray, t0: float, middles: dict,
                           seconds_of, reaches) -> list:
        """The repetitions to judge from the alignment's pieces (the path cut where it wraps): each
        through at least MIN_CYCLE_COVER of the cycle, as before, and every repetition the counter
        counted judged once, whatever the alignment made of it:
        - a piece through less of the cycle that holds a counted repetition of each group (a person
          already going down at the first frame; the last squat, its standing end matched short of
          the cycle's end) is judged on the moments it went through: it was done;
        - a piece holding two or more repetitions of a counter that counts both sides together (the
          alignment parked on one moment of the cycle through a shallow squat and took the next as
          the repetition) is cut where the person was nearest the cycle's start between them, and
          each part aligned with the whole cycle on its own; unless a part does not reach the turn or
          the range even in part (`reaches`: one squat counted twice, its rise cut off as a
          "repetition"). Not a march's (left and right counted apart, one of each per cycle).
        Either way the judge then says how well (or whether) it was the routine's movement. Before,
        such a repetition was judged or left out on a few degrees: the goblet squatter's shallow first
        squat (MoveNet) was its own repetition, judged short (0), on three invisibly changed copies
        of her clip, and swallowed by the next on the clip itself: 69 against 83.4."""
        def cover(piece) -> float:
            return len({j for _, j in piece}) / len(cycle)

        if self.reps is None:
            return [p for p in pieces if cover(p) >= MIN_CYCLE_COVER]
        out = []
        for piece in pieces:
            start, end = seconds_of(piece)
            inside = {g: m[(m >= start) & (m <= end)] for g, m in middles.items()}
            most = max(inside.items(), key=lambda kv: len(kv[1]), default=(None, ()))
            parts = self._split(piece, most[1], angles, cycle, t0, reaches) if (
                len(middles) == 1 and start >= self._counted_since and len(most[1]) >= 2) else None
            if parts:
                out.extend(parts)
            elif cover(piece) >= MIN_CYCLE_COVER or (start >= self._counted_since and self._counted_in(start, end, middles)):
                out.append(piece)
        return out

    def _split(self, piece: list, middles: np.ndarray, angles: np.ndarray, cycle: np.ndarray, t0: float,
               reaches) -> list:
        """A piece of the path holding several counted repetitions (their `middles`, seconds), cut
        between each two where the person's pose is nearest the cycle's start, each part aligned
        with the whole cycle once (warp.align_once; kept per piece: _splits); [] when a part does not
        reach the movement's turn or range even in part (the piece is then judged whole)."""
        key = tuple(piece)
        if key not in self._splits:
            rows = [round((m - t0) * RESAMPLE_HZ) for m in middles]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a pose with nothing seen
                rest = np.nanmean(np.abs(angles - cycle[0]), axis=1)
            cuts = [piece[0][0]]
            for a, b in zip(rows, rows[1:]):
                between = rest[a + 1:b]
                cuts.append(a + 1 + int(np.nanargmin(between)) if np.isfinite(between).any() else (a + b) // 2)
            cuts.append(piece[-1][0] + 1)
            # Each part from rest to rest: the whole cycle once (a free start and end let the
            # shallow squat park on one moment again).
            parts = [[(i + a, j) for i, j in align_once(angles[a:b], cycle)] for a, b in zip(cuts, cuts[1:]) if b - a >= 2]
            self._splits[key] = parts if all(reaches(part) for part in parts) else []
        return self._splits[key]

    def _counted_in(self, start: float, end: float, middles: dict) -> bool:
        """Whether the counter counted a repetition of each of its groups (both sides together, or
        the left and the right) with its middle in start..end (`middles`: each group's, sorted): the
        cycle holds one of each. Not asked of a repetition begun before the counting times were kept
        (a restored checkpoint's)."""
        if self.reps is None or start < self._counted_since:
            return True
        return all(np.searchsorted(m, end, side="right") > np.searchsorted(m, start) for m in middles.values())

    def _judge(self, rep, angles, body, cycle, tol, near, at_turn, units, moving, counted=True, defining=None,
               holding=None, depth=None):
        """One repetition: (why it is another movement or '', the joints that make it so, the
        credit earned per joint, the moments seen per joint, the sums of angle, target and count
        where not within tolerance), or None when none of its poses saw a joint. `counted`: the
        repetition counter counted it (_counted_in); one it did not is another movement ("count":
        a joint held still moved, the limb was not lifted, a foot was lifted, another position, too
        shallow, or a lone excursion: common/coach/reps.py), unless another reason says more.
        `depth`: a counted repetition's depth against the routine's target (the counter's); one
        shallower than the target and short of the turn earns at least its posture within its own
        depth times that depth (_judge_within_own_depth, docs/scoring.md "A shallow repetition")."""
        # Each moment of the cycle: the person's pose that matched it best (a slow person's
        # several poses at one moment), its signed error per joint.
        best: dict[int, np.ndarray] = {}
        for i, j in rep:
            err = angles[i] - cycle[j]
            if not np.isnan(err).all() and (j not in best or _mean_error(err) < _mean_error(best[j])):
                best[j] = err
        if not best:
            return None
        moments = np.array(sorted(best))
        err = np.array([best[j] for j in moments])
        has = ~np.isnan(err)
        earned = np.where(has, joint_credit(np.nan_to_num(err), tol, near), 0.0)
        rows = sorted({i for i, _ in rep})
        if defining is not None and self.built:
            # A built routine's part seen on under half of this repetition's poses (the far arm of a
            # person side-on, seen only while down: its ends unseen) is not said to fall short of the
            # movement: the parts seen make it or not (each joint's credit stands as seen).
            in_view = defining & ((~np.isnan(angles[rows])).mean(axis=0) >= PART_SEEN_SHARE)
            defining = in_view if in_view.any() else defining
        why, short, reached = self._not_the_movement(angles[rows], body[rows], err, at_turn[moments], cycle, units,
                                                     moving, near, defining, holding)
        if not why and not counted:
            counted_joints = set(self.routine.reps.joints) if self.routine.reps else set()
            why, short = "count", np.array([j in counted_joints for j in self.routine.joints])
        if why:
            earned[:] = 0.0
        else:  # a repetition a little short of the turn or an end earns that much less (SHORT_RAMP_SHARE)
            earned *= reached
        if depth is not None and depth < 1.0 and why in ("", "turn", "range") and reached < 1.0:
            own = self._judge_within_own_depth(rep, angles, body, cycle, tol, near, units, moving, defining,
                                               holding, depth)
            if own is not None and own[2].sum() > earned.sum():
                return own
        missed = has & (earned < 1.0)
        target = cycle[moments]
        # Each moment's own figure (its seen joints' credit averaged): the timeline's seconds.
        by_moment = dict(zip(moments.tolist(), (earned.sum(axis=1) / np.maximum(has.sum(axis=1), 1)).tolist()))
        return (why, short, earned.sum(axis=0), has.sum(axis=0),
                np.array([np.where(missed, target + np.nan_to_num(err), 0.0).sum(axis=0),
                          np.where(missed, target, 0.0).sum(axis=0), missed.sum(axis=0)]), by_moment)

    def _judge_within_own_depth(self, rep, angles, body, cycle, tol, near, units, moving, defining, holding,
                                depth: float):
        """A counted repetition shallower than the routine's target, judged as the routine's movement
        done to the depth the person reached: the cycle's moving joints' excursions from its start
        scaled down to where the counted joints turned (the share the least deep of them went of the
        way to the cycle's turn), the repetition aligned with that cycle once and judged by every rule
        as before; its credit then times its depth against the target (`depth`, the counter's,
        the figure the TV and the report state). The posture within their own range, with the depth as a
        bounded, stated shortfall: a senior's good shallow squat at 64 % of the target earns about 60,
        not the 0 of another movement (docs/scoring.md "A shallow repetition"). None when nothing
        counted was seen."""
        rows = sorted({i for i, _ in rep})
        person = angles[rows[0]:rows[-1] + 1]
        turn = int(np.argmax(np.nansum(np.abs(cycle - cycle[0])[:, moving], axis=1))) if moving.any() else 0
        names, counted_joints = list(self.routine.joints), set(self.routine.reps.joints) if self.routine.reps else set()
        shares = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a part never seen: NaN
            for unit in units:
                if not any(names[k] in counted_joints for k in unit):
                    continue
                rest, extreme = float(np.nanmean(cycle[0, unit])), float(np.nanmean(cycle[turn, unit]))
                track = np.nanmean(person[:, unit], axis=1)
                if not np.isfinite(track).any() or abs(extreme - rest) < 1e-6:
                    continue
                reached = np.nanmin(track) if extreme < rest else np.nanmax(track)
                shares.append(float(np.clip((rest - reached) / (rest - extreme), 0.0, 1.0)))
        if not shares:
            return None
        scale = np.where(moving, min(shares), 1.0)
        own = cycle[0] + scale * (cycle - cycle[0])
        own_turn = np.nan_to_num(np.abs(own - own[turn])[:, moving], nan=0.0).max(axis=1, initial=0.0) <= TURN_SPAN_DEG
        path = [(rows[0] + i, j) for i, j in align_once(person, own)]
        judged = self._judge(path, angles, body, own, tol, near, own_turn, units, moving, True, defining, holding)
        if judged is None or judged[0]:
            return None
        why, short, earned_sum, has_sum, missed_sums, by_moment = judged
        share = max(0.0, min(1.0, float(depth)))
        return (why, short, earned_sum * share, has_sum, missed_sums, {m: v * share for m, v in by_moment.items()})

    def _not_the_movement(self, person: np.ndarray, body: np.ndarray, err: np.ndarray, close: np.ndarray,
                          cycle: np.ndarray, units: list[list[int]], moving: np.ndarray,
                          near: np.ndarray, defining: np.ndarray | None = None,
                          holding: np.ndarray | None = None) -> tuple[str, np.ndarray, float]:
        """Why one repetition is not the routine's movement ('' when it is), the joints that
        make it so, and the share of its credit it earns (0 when not; under 1 when a moving part fell
        a little short of the turn or of an end of the range: SHORT_RAMP_SHARE). person: its poses'
        angles (rows); body: their stance(); err: the signed error at each cycle moment it was
        matched with; close: which of those moments are at the turn.
        In this order (docs/scoring.md "Which movement"):
        - position: the routine's body position (standing, seated) not kept through it;
        - range: a moving part never got to one end of the routine's range, or went past it by
          more than the routine's range again (jumping jacks' arms against a raise to shoulder height);
        - level: a limb the routine lifts to below the level taken past it (_past_the_level);
        - turn: never at the turning position with every moving part at once (within its near band);
        - held: a part the routine holds still (elbows straight in a raise, knees in a side bend)
          outside its near band for most of it.
        `defining`: the moving joints that make the movement (range, turn; default all of `moving`);
        `holding`: the joints whose holding still makes it (held; default every joint not moving)."""
        none = np.zeros(len(near), dtype=bool)
        credit = 1.0
        defining = moving if defining is None else defining
        where = self.routine.position
        known = body[np.isfinite(body)]
        if where and len(known):
            wrong = (known <= SEATED_BELOW) if where == "standing" else (known >= STANDING_ABOVE)
            if wrong.mean() > OUT_OF_POSITION_SHARE:
                return "position", none, 0.0
        absent = np.abs(np.nan_to_num(err, nan=np.inf)) - near  # beyond the near band (inf: not seen)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a part never seen: NaN
            for unit in units:
                if not defining[unit[0]]:
                    continue
                track = np.nanmean(person[:, unit], axis=1)  # a pair moving together: the mean of its sides
                lo, hi = float(np.nanmin(cycle[:, unit])), float(np.nanmax(cycle[:, unit]))
                near_band, span = float(np.mean(near[unit])), hi - lo
                # Each end within the near band, and at least half the way there from where the
                # cycle starts (a side bend's 20 deg each way: 10 deg, not the near band's 5).
                rest = float(np.nanmean(cycle[0, unit]))
                # An end no farther from the start than the near band asks only the near band: half of
                # a few degrees' drift (a squat's hips 3 deg past upright) is not a demand, it is noise.
                reach_lo = min(near_band, (rest - lo) / 2) if rest - lo > near_band else near_band
                reach_hi = min(near_band, (hi - rest) / 2) if hi - rest > near_band else near_band
                p_lo, p_hi = np.nanmin(track), np.nanmax(track)
                # How far short of an end, beyond what it asks, as a share of its ramp (SHORT_RAMP_SHARE
                # of the way from the start to that end; of the near band for an end at the start).
                short_by = max((p_lo - (lo + reach_lo)) / (SHORT_RAMP_SHARE * max(rest - lo, near_band)),
                               ((hi - reach_hi) - p_hi) / (SHORT_RAMP_SHARE * max(hi - rest, near_band)), 0.0)
                if (not np.isfinite(p_lo) or short_by >= 1 or p_lo < lo - span or p_hi > hi + span):
                    short = none.copy()
                    short[unit] = True
                    return "range", short, 0.0
                credit = min(credit, 1.0 - short_by)
            gap = np.column_stack([np.nanmean(np.where(np.isinf(absent[:, u]), np.nan, absent[:, u]), axis=1)
                                   for u in units])
        past = self._past_the_level(person, cycle, moving, near)
        if past.any():
            return "level", past, 0.0
        moving_units = np.array([defining[u[0]] for u in units])
        at_turn = gap[close][:, moving_units]
        turn_at = int(np.argmax(np.nansum(np.abs(cycle - cycle[0])[:, moving], axis=1))) if moving.any() else 0
        # Each turning moment: how far the farthest moving part was beyond its near band, as a share
        # of its ramp (0: reached; 1 or more: not the movement; between: part of the credit).
        ramps = np.array([SHORT_RAMP_SHARE * max(abs(float(np.nanmean(cycle[turn_at, u]) - np.nanmean(cycle[0, u]))),
                                                 float(np.mean(near[u])))
                          for u, m in zip(units, moving_units) if m])
        turn_short = np.where(np.isfinite(at_turn), np.maximum(at_turn, 0.0), np.inf) / ramps
        turn_short = turn_short.max(axis=1, initial=0.0)
        reached = np.isfinite(turn_short) & (turn_short < 1.0)
        # One side moving while the other holds (a march): at the turn the sides must differ the
        # routine's way by at least half as much (both hips bent alike, as in a jumping jack, is not it).
        for k, j in enumerate(self.routine.joints):
            other = mirror_name(j)
            if not defining[k] or other == j or other not in self.routine.joints:
                continue
            m = list(self.routine.joints).index(other)
            want = cycle[:, k] - cycle[:, m]  # the routine's difference between the sides at each moment
            turn_want = want[np.argmax(np.abs(want))] if np.isfinite(want).any() else 0.0
            if abs(turn_want) < MOVING_JOINT_DEG / 2:
                continue  # the sides move together
            moments_want = want[close_moments] if (close_moments := np.flatnonzero(close)).size else want[:0]
            got = err[close][:, k] - err[close][:, m] + moments_want  # the person's difference there
            strongest = np.abs(moments_want) >= abs(turn_want) / 2  # moments where the routine wants it
            # The routine's way at each of those moments, not at its largest difference: a march's
            # turn may be the left knee's lift while the right knee's was the larger (by 2 deg on the
            # high-knees clip), and asking the right knee's way there failed every repetition of
            # the instructor's own footage (0.0).
            reached &= ~strongest | (np.where(np.isnan(got), np.inf, np.sign(moments_want) * got) >= abs(turn_want) / 2)
        if moving_units.any() and not reached.any():
            closest = np.nan_to_num(np.abs(err), nan=np.inf)[close]
            short = defining & (closest.min(axis=0, initial=np.inf) > near) if len(closest) else defining.copy()
            return "turn", short, 0.0
        if moving_units.any():
            credit = min(credit, 1.0 - float(turn_short[reached].min()))
        for k, unit in enumerate(units):
            column = gap[:, k]
            if moving[unit[0]] or not np.isfinite(column).any() or (holding is not None and not holding[unit].any()):
                continue
            if (column[np.isfinite(column)] > 0).mean() > 0.5:
                short = none.copy()
                short[unit] = True
                return "held", short, 0.0
        return "", none, credit

    def _past_the_level(self, person: np.ndarray, cycle: np.ndarray, moving: np.ndarray,
                        near: np.ndarray) -> np.ndarray:
        """The limbs (shoulders, hips: their angle is to the trunk) that a routine lifting against
        gravity keeps below the level (LEVEL_DEG: an arm to shoulder height, a knee to hip height)
        and that this repetition took past it by more than the joint's near band, on either side
        alone: a lift to another height (jumping jacks' arms overhead, a dancer's arm up, against a
        raise to shoulder height), however far the routine's own range would allow. A routine that
        lifts past the level (an overhead raise, a seated march) asks nothing here."""
        out = np.zeros(len(near), dtype=bool)
        if not getattr(self.routine.reps, "against_gravity", False):
            return out
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a side never seen: NaN
            for k, j in enumerate(self.routine.joints):
                if not moving[k] or j not in LIMB_TO_TRUNK or not np.isfinite(cycle[:, k]).all():
                    continue
                rest, ext = cycle[0, k], cycle[np.argmax(np.abs(cycle[:, k] - cycle[0, k])), k]
                if rest < LEVEL_DEG and ext < LEVEL_DEG:  # lifting opens the angle (an arm)
                    out[k] = float(np.nanmax(person[:, k])) > LEVEL_DEG + near[k]
                elif rest > LEVEL_DEG and ext > LEVEL_DEG:  # lifting closes it (a thigh from standing)
                    out[k] = float(np.nanmin(person[:, k])) < LEVEL_DEG - near[k]
        return out

    def range_of_motion(self) -> dict[str, dict[str, float]]:
        """Each joint's range: the 5th to 95th percentile of its angles on the frames it was seen
        well, for the joints seen well on at least ROM_SEEN_SHARE as many frames as the best-seen
        one. A knee under a table that the model now and then reads at 0.4 or more (a third of the
        frames) gives the hip an angle on those frames only: a few moments, not the person's range."""
        out = {}
        most = max((len(v) for v in self._angles_seen.values()), default=0)
        for j, values in self._angles_seen.items():
            if len(values) < ROM_SEEN_SHARE * most:
                continue
            lo, hi = np.percentile(values, [5, 95])
            out[j] = {"min": round(float(lo), 1), "max": round(float(hi), 1), "range": round(float(hi - lo), 1)}
        return out

    def summary(self) -> dict:
        rom = self.range_of_motion()
        asym = {}
        for j in rom:
            if j.startswith("left_") and "right_" + j[5:] in rom:
                left, right = rom[j]["range"], rom["right_" + j[5:]]["range"]
                asym[j[5:]] = round(100.0 * abs(left - right) / max(left, right, 1e-6), 1)
        self._posture, self._posture_t = self.posture(final=True), (self._samples[-1][0] if self._samples else 0.0)
        posture = self._posture
        out = {
            "score": self._result_score(posture), "frames": self.frames, "frames_scored": self.frames_scored,
            "reps": self.reps.count if self.reps else 0,
            # Each joint's posture figure (POSTURE_SCORE_DEFINITION), weakest first; the posture
            # score is their average. (Until this change: the share of frames each joint was green.)
            "joints": posture["joints"],
            "posture_score": posture["score"], "weakest": posture["weakest"], "advice": posture["advice"],
            "repetitions_judged": posture["repetitions_judged"],
            "repetitions_not_reached": posture["repetitions_not_reached"],
            # Of those, why each was another movement (docs/scoring.md "Which movement").
            "repetitions_not_the_movement": posture["not_the_movement"],
            # Repetitions not judged: the pose followed became another person's during them.
            "repetitions_of_another_person": posture["of_another_person"],
            "score_means": ("count" if self.routine.kind in COUNT_TESTS else
                            "hold" if self.routine.kind == "balance_hold" else "posture"),
            "range_of_motion": rom, "asymmetry_pct": asym, "routine": self.routine.name, "kind": self.routine.kind,
            # The strip of the score's own judgement (per second, the aligned repetitions' figure;
            # '-' outside them); a choreography or the prototype's scoring: the frames' verdicts.
            "timeline": self._timeline.codes() if posture.get("timeline") is None else
                        posture["timeline"].ljust(len(self._timeline.codes()), UNSCORED),  # as long as the session
        }
        if self.reps and self.reps.by_side():  # one-sided or alternating: per side (reps is their sum)
            out["reps_by_side"] = self.reps.by_side()
        if self.reps and self.reps.depth():  # how deep the counted repetitions went against the target
            out["rep_depth"] = self.reps.depth()
            if shallow_depth(out) and self.routine.kind not in COUNT_TESTS:
                # Shallower than the target: what to practise is going deeper (the TV's practise line,
                # the report's), in the movement's words (a squat: "조금 더 깊게 앉아 보세요"), whatever
                # joint's form is weakest within that depth (docs/scoring.md "A shallow repetition").
                out["deeper"] = out["advice"] = deeper_key(self.routine.reps)
        if self.seen_not_measured():
            out["seen_not_measured"] = "front"
        if self.framing.seconds > 0:
            out["framing"] = self.framing.summary()
        if self.routine.kind == "balance_hold":
            out["hold_s"] = round(self.hold_s, 1)
            out["hold_target_s"] = self.routine.hold_s
        if self.routine.kind in COUNT_TESTS:
            out["test"] = self.test_result()
        if self._timing:
            out["timing"] = self.timing()
        return out

    def seen_not_measured(self) -> bool:
        """Whether the movement was seen but a 2D model could not measure it from where the person
        stood: a side-view routine (a squat's depth is toward the camera from the front), read without
        world landmarks with the person facing the camera on most frames (the TV asked them to turn
        sideways), nothing counted, and the counter saw them leave the start and come back at least
        twice (again and again; each at least the routine's shortest repetition). The session is then
        no "movement not done": it was done where the picture cannot show its depth. Measured
        (tests/test_counting_real.py): MoveNet reads the front-view dumbbell squats cut at a 150 deg
        picture knee 0.42-0.55 of the routine's excursion, under the 0.6 floor against noise, while the
        hips' drop over the feet (0.16-0.18 of their standing height) is what the dancers' bent-knee
        steps show as well (0.11-0.17): no signal in the picture tells the squat from them."""
        if self.reps is None or self.reps.count or self.routine.view != "side" or not self._frames_read:
            return False
        if self._asked_side_on < 0.5 * self._frames_read:
            return False
        return sum(c.short_of_level for c in self.reps.counters.values()) >= 2

    def timing(self) -> dict:
        """How far behind (+) or ahead the participant moved, and their tempo against the
        routine's at the start and end of the session (first and last third of scored time):
        reported apart from the form score because a slowing tempo is worth a carer's attention."""
        t, position = (np.array(c) for c in zip(*self._timing))
        third = max(2, len(t) // 3)

        def tempo(a: np.ndarray, b: np.ndarray) -> float:  # the slope of routine time over clock time
            # Within 0-10 as the tracker's tempos are and the session contract says: in its start
            # window the judged position is free, so a third of a short session could fit -0.05
            # (a real dancer against side_bend: the collector refused the whole session).
            slope = float(np.polyfit(a, b, 1)[0]) if len(a) >= 2 and np.ptp(a) > 0 else 1.0
            return round(min(10.0, max(0.0, slope)), 2)

        return {"mean_lag_s": round(float((t - position).mean()), 2), "tempo": tempo(t, position),
                "tempo_start": tempo(t[:third], position[:third]), "tempo_end": tempo(t[-third:], position[-third:]),
                "rejoined": self.tracker.rejoined}
