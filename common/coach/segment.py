"""Finding the movements in a long instructor video's pose track (`silvergym program build`).

A 실버체조 video is one movement after another, sometimes with a pause between them, often not.
What tells one movement from the next is what the body does, read from joint angles (so the
person's place and size in the picture do not matter):

- which joints move, and through which range: each joint's span over a few seconds (its 10th to
  90th percentile angle). Arm raises swing the shoulders from 20 to 170 deg, a squat the knees
  from 160 to 60, a lateral raise the shoulders only to 90: three different signatures;
- pauses: a stretch where no joint moves more than a still person's sway is no movement (the
  rest between two movements, or the instructor explaining);
- repetition structure: inside a movement the same signature repeats cycle after cycle, so the
  signature of the seconds before a moment matches the seconds after it; at a change of
  movement it does not.

The cut between two movements is where the signature of the window before differs most from the
window after (a peak of that difference above CUT_DISTANCE); each window spans several cycles of
a gentle exercise (WINDOW_S), so one cycle's own phases never look like a change. The same joints
through the same ranges can still be two movements: knee lifts move the hips and knees in turn,
left against right, a squat both together (the same spans). So a change of the sides' phase is a
cut too: per left-right pair moving in both windows, how far its sides' correlation changes
(sides_distance, the same 0..1 share); such a cut is placed by the sides' difference, the
evidence that found it. Movements
found again later in the video (arm raises at the start and again in the cool-down) are grouped:
same joints moving through overlapping ranges (GROUP_DISTANCE). Distances are shares (0..1) of
the joints' own movement, not degrees fitted to a clip.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from common.coach.geometry import ALL_ANGLES, joint_angles

WINDOW_S = 3.0  # each side of a candidate cut: two to six cycles of a gentle exercise
STEP_S = 0.2  # candidate cuts this far apart, then refined to the frame
MIN_PART_S = 4.0  # a movement shorter than this is not a part (a transition, a demonstration)
MIN_SPAN_DEG = 15.0  # a joint's span is at least this (a still joint still has a posture to compare)
MOVING_DEG = 30.0  # a joint whose span is wider than this is moving
STILL_S = 2.5  # no joint moving for this long: a pause between movements (a squat may hold 1-2 s)
CUT_DISTANCE = 0.45  # the signature before and after differ by this share of their movement: a cut
GROUP_DISTANCE = 0.5  # two parts whose signatures differ by less than this do the same movement
LEVEL_SMOOTH_S = 1.0  # postures compared for placing a cut: averaged over this long
BACK_S = 1.5  # a part's first repetition may have begun this long before its cut (placed late)
REFINE_S = 2.5  # a cut is placed to the frame within this many seconds of the change curve's peak
SIDE_CORRELATION = 0.2  # left and right correlated beyond this: together; below its negative: alternating
PAIRS = ("shoulder", "elbow", "hip", "knee")
SEEN_SHARE = 0.5  # a joint counts in a window when its angle is read on this share of its frames
# Repetition structure: a repeated movement's counted joints come back to the same angles each
# cycle, so their track correlates with itself one period later (measured on the joined real
# clips, per left-right pair, both models: the counted pair of jacks, squats, raises, knee lifts,
# sit-ups 0.74-0.99, with a few seconds of the next movement inside the part; any pair of a
# dance 0.23-0.56).
PERIOD_MIN_S, PERIOD_MAX_S = 0.5, 4.0  # a repetition lasts this long (fast knee lifts 0.6 s a leg)
PERIODIC = 0.65  # self-correlation one period later at least this: repeated (else a timed part)
# Recognising a part as a bundled routine's movement: its counted joints move through the
# routine's range (RECOGNISE_DISTANCE, the same 0..1 distance as grouping), the sides as the
# routine moves them, the joints it holds still held still (at most STILL_SHARE of the counted
# joints' span), and they are the part's main movement (at least MAIN_SHARE of its widest span).
RECOGNISE_DISTANCE = GROUP_DISTANCE  # as near as two repeats of one movement are
STILL_SHARE = 0.5
MAIN_SHARE = 0.5
# The bundled routines a part can be recognised as, one per movement, in the order preferred on a
# tie. Left out: seated variants and the chair stand, whose joints and ranges are a squat's or a
# standing routine's (the pose does not show the chair); a still hold (balance) is no movement.
RECOGNISABLE = ("squat", "arm_raise", "lateral_raise", "marching", "arm_curl_30s", "side_bend",
                "knee_extension_seated")


# A hard cut: an edited instructor video goes from one shot to the next between two frames, and the
# body's place and size in the picture jump there, while between two frames of one shot a body moves
# a little (at 30 fps the fastest knee lift moves the median keypoint at most 0.09 of the body's size,
# measured on the joined real clips, both models; a join of two clips 0.09-0.69). A jump is judged
# against the person's own motion around it (HARD_RATIO times the median step of the frames near it)
# and must persist (a pose read wrongly in one frame jumps back). A hard cut is no movement change by
# itself (a program filmed from several cameras cuts within a movement too): it places a change found
# by the signatures (SNAP_S), and a pause it falls in belongs to the part after it (the instructor
# standing ready in the new shot).
HARD_STEP = 0.05  # the median keypoint moves at least this share of the body's size in one frame
HARD_RATIO = 4.0  # ... and this many times the median step of the frames around it
HARD_NEAR_S = 0.3  # the frames around a step, each side
# A change placed this near a hard cut is placed at it: the signatures' windows blur a change over up
# to a window (a slow stretch of few pictures a second after 6.7 s of squats: its change curve peaked
# 2.5 s into it, where its fold gave way to lunges, and the part began there, 2.6 s late).
SNAP_S = WINDOW_S
# When the video's pictures are at hand (program build), a new shot is read from them, not from the
# pose: a shot change replaces the picture, while within a shot it changes little between two frames
# however the body moves. The pose misleads both ways: a clip of few pictures a second jumps at each
# picture as much as at its join (squats_5reps, 10 fps joined at 30: 0.08-0.19 of the body a picture
# against the join's 0.11), and after a join the pose tracker may follow the last shot's body for a
# second and jump when it finds the new one (side-view squats after the stretch: 0.58 of the body at
# 1.2 s, the join's own jump 0.54). A shot change is a frame whose picture (a small grey copy) changes
# HARD_RATIO times as much as it changes between any other two frames within SHOT_NEAR_S (a clip shows
# a new picture at least once a second), and is still that far from the frame before two frames later
# (a flash comes back). Measured on two joins of the same eight real clips (58.5 s each, 640x360, two
# encodings): each of the 7 joins changed 8.3-66 times as much as any frame near it, no other frame 1.5 times.
SHOT_NEAR_S = 1.0
SHOT_NOISE = 1.0  # grey levels (of 255): a still picture's own frame-to-frame flicker, at most
SHOT_PICTURE = (32, 18)  # the small grey copy's width and height: enough to tell one scene from another


@dataclass
class Movement:
    start_s: float
    end_s: float
    group: int = 0  # parts with the same group do the same movement (numbered in order of first appearance)
    reps: int = 0  # repetitions of the instructor counted in it
    joints: list[str] = field(default_factory=list)  # the joints that move, most first
    rule: dict | None = None  # the repetition rule (a routine file's `reps`), None: not repeated
    first_s: float = 0.0  # where its first repetition starts (start_s, or later when cut mid-repetition)
    routine: str = ""  # the bundled routine whose movement this is ("" = not recognised)
    periodic: float = 0.0  # how strongly its counted joints repeat (self-correlation one period later)
    shot: bool = False  # it begins at a hard cut (a new shot): nothing before start_s is of it


def _body_step(a: np.ndarray, b: np.ndarray) -> float:
    """The median move of the keypoints read in both poses, as a share of the body's size (the
    larger of the two poses' extents); NaN with fewer than four such keypoints."""
    from common.coach.geometry import MIN_SCORE

    both = (a[:, 2] >= MIN_SCORE) & (b[:, 2] >= MIN_SCORE)
    if both.sum() < 4:
        return float("nan")
    size = max(float(np.ptp(p[p[:, 2] >= MIN_SCORE, :2], axis=0).max()) for p in (a, b))
    return float(np.median(np.linalg.norm(a[both, :2] - b[both, :2], axis=1))) / max(size, 1.0)


def hard_cuts(poses, fps: float) -> list[int]:
    """The frames where a new shot begins (a hard cut): the body's keypoints jump between the frame
    before and this one by at least HARD_STEP of its size and HARD_RATIO times its steps nearby, and
    are still that far from where they were two frames later. Such frames within HARD_NEAR_S (a
    tracker smoothing the jump, or settling on the new body) are one cut, at the first."""
    p = [np.asarray(x, dtype=float) for x in poses]
    steps = np.array([np.nan] + [_body_step(p[i - 1], p[i]) for i in range(1, len(p))])
    near = max(2, int(round(HARD_NEAR_S * fps)))
    out: list[int] = []
    for i in range(1, len(p)):
        if not steps[i] >= HARD_STEP:
            continue
        around = np.concatenate([steps[max(1, i - near):i], steps[i + 1:i + 1 + near]])
        around = around[np.isfinite(around)]
        if len(around) < 3 or steps[i] < HARD_RATIO * (np.median(around) + HARD_STEP / 5):
            continue
        later = _body_step(p[i - 1], p[min(len(p) - 1, i + 2)])
        if not later >= HARD_STEP:
            continue
        if out and i - out[-1] <= near:  # the same cut, a tracker settling on the new shot's body
            continue
        out.append(i)
    return out


def shot_changes(pictures: np.ndarray, fps: float) -> dict[int, float]:
    """The frames where a new shot begins, read from the pictures (one small grey copy per frame:
    `picture`), each with how much the picture changed there (mean grey levels): see SHOT_NEAR_S."""
    x = np.asarray(pictures, dtype=float)
    if len(x) < 3:
        return {}
    steps = np.array([np.nan] + [float(np.abs(x[i] - x[i - 1]).mean()) for i in range(1, len(x))])
    near = max(2, int(round(SHOT_NEAR_S * fps)))
    out: dict[int, float] = {}
    for i in range(1, len(x)):
        around = np.concatenate([steps[max(1, i - near):i], steps[i + 1:i + 1 + near]])
        if not len(around) or steps[i] < HARD_RATIO * max(float(np.max(around)), SHOT_NOISE):
            continue
        held = float(np.abs(x[min(len(x) - 1, i + 2)] - x[i - 1]).mean())
        if held >= HARD_RATIO * max(float(np.max(around)), SHOT_NOISE):
            out[i] = float(steps[i])
    return out


def picture(bgr: np.ndarray) -> np.ndarray:
    """The small grey copy of a frame shot_changes compares (SHOT_PICTURE)."""
    import cv2

    return cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), SHOT_PICTURE, interpolation=cv2.INTER_AREA)


def angle_track(poses, worlds) -> np.ndarray:
    """frames x ALL_ANGLES, NaN where a joint is not read."""
    out = np.full((len(poses), len(ALL_ANGLES)), np.nan)
    for i, (p, w) in enumerate(zip(poses, worlds)):
        a = joint_angles(np.asarray(p), None if w is None else np.asarray(w))
        for k, j in enumerate(ALL_ANGLES):
            if a.get(j) is not None:
                out[i, k] = a[j]
    return out


def signature(angles: np.ndarray) -> np.ndarray:
    """Each joint's span over these frames: (low, high) = its 10th and 90th percentile angle,
    NaN for a joint read on too few of them."""
    out = np.full((angles.shape[1], 2), np.nan)
    if len(angles) == 0:
        return out
    seen = np.isfinite(angles).mean(axis=0) >= SEEN_SHARE
    for k in np.flatnonzero(seen):
        v = angles[np.isfinite(angles[:, k]), k]
        out[k] = np.percentile(v, 10), np.percentile(v, 90)
    return out


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """How different two signatures are, 0 (the same joints through the same ranges) to 1: per
    joint one minus the overlap of the two spans (each widened to MIN_SPAN_DEG), weighted by the
    wider span, so the joints that move most decide. A joint seen in one and not the other
    (legs leaving the picture) differs fully, with a still joint's weight."""
    num = den = 0.0
    for (alo, ahi), (blo, bhi) in zip(a, b):
        if np.isnan(alo) and np.isnan(blo):
            continue
        if np.isnan(alo) or np.isnan(blo):
            num += MIN_SPAN_DEG
            den += MIN_SPAN_DEG
            continue
        alo, ahi = _widened(alo, ahi)
        blo, bhi = _widened(blo, bhi)
        inter = max(0.0, min(ahi, bhi) - max(alo, blo))
        union = max(ahi, bhi) - min(alo, blo)
        weight = max(ahi - alo, bhi - blo)
        num += weight * (1.0 - inter / union)
        den += weight
    return num / den if den else 0.0


def _widened(lo: float, hi: float) -> tuple[float, float]:
    if hi - lo >= MIN_SPAN_DEG:
        return lo, hi
    mid = (lo + hi) / 2
    return mid - MIN_SPAN_DEG / 2, mid + MIN_SPAN_DEG / 2


def moving(sig: np.ndarray) -> bool:
    spans = sig[:, 1] - sig[:, 0]
    return bool(np.nanmax(spans, initial=0.0) > MOVING_DEG) if np.isfinite(spans).any() else False


def change_curve(angles: np.ndarray, fps: float, window_s: float = WINDOW_S) -> tuple[np.ndarray, np.ndarray]:
    """(times, distance between the window before and the window after each time)."""
    w = max(2, int(round(window_s * fps)))
    step = max(1, int(round(STEP_S * fps)))
    idx = np.arange(w, len(angles) - w + 1, step)
    d = np.array([distance(signature(angles[i - w:i]), signature(angles[i:i + w])) for i in idx])
    return idx / fps, d


def still_frames(angles: np.ndarray, fps: float) -> np.ndarray:
    """Frames inside a stretch of at least STILL_S where no joint moves (a pause)."""
    w = max(2, int(round(STILL_S * fps)))
    still = np.zeros(len(angles), dtype=bool)
    for i in range(0, max(0, len(angles) - w + 1)):
        if not moving(signature(angles[i:i + w])):
            still[i:i + w] = True
    return still


def find_cuts(angles: np.ndarray, fps: float) -> list[int]:
    """Frame indices where one movement gives way to another: peaks of the change curve (which
    joints move, through which ranges), then peaks of the sides' change (sides_curve) at least
    MIN_PART_S from every cut (the same joints through the same ranges, the sides' phase changed)."""
    cuts: list[tuple[float, bool]] = []  # (time, found by the sides' phase)
    for by_sides, (times, d) in ((False, change_curve(angles, fps)), (True, sides_curve(angles, fps))):
        for k in np.argsort(-d):
            if d[k] < CUT_DISTANCE:
                break
            if all(abs(times[k] - c) >= MIN_PART_S for c, _ in cuts):
                cuts.append((float(times[k]), by_sides))
    postures = sides = None
    placed = []
    for t, by_sides in cuts:
        if by_sides:
            sides = _side_levels(angles, fps) if sides is None else sides
            placed.append(_refine(angles, fps, t, sides))
        else:
            postures = _levels(angles, fps) if postures is None else postures
            placed.append(_refine(angles, fps, t, postures))
    return sorted(int(round(t * fps)) for t in placed)


def _refine(angles: np.ndarray, fps: float, t: float, levels: np.ndarray | None = None) -> float:
    """The cut near t to the frame: the split of the seconds around t into two stretches that
    each hold together best (least squares, one mean per stretch) on `levels` (by default each
    joint's posture, smoothed over a second, and whether it is read at all: legs leaving the
    picture; _levels), each scaled to its own spread there so that no joint decides by its size
    in degrees alone."""
    c, h = int(round(t * fps)), int(round(REFINE_S * fps))
    a, b = max(0, c - h), min(len(angles), c + h)
    x = (_levels(angles, fps) if levels is None else levels)[a:b]
    spread = x.std(axis=0)
    x = x[:, spread > 1e-6] / spread[spread > 1e-6]
    edge = max(1, int(round(0.5 * fps)))
    if x.shape[1] == 0 or len(x) < 2 * edge + 1:
        return t
    costs = [((x[:k] - x[:k].mean(0)) ** 2).sum() + ((x[k:] - x[k:].mean(0)) ** 2).sum()
             for k in range(edge, len(x) - edge)]
    return (a + edge + int(np.argmin(costs))) / fps


def _levels(angles: np.ndarray, fps: float) -> np.ndarray:
    """Per frame: each joint's angle (a joint not read: its median), averaged over a second (a
    cycle's own swing evens out, a change of posture stays), and 1/0 for read or not."""
    seen = np.isfinite(angles)
    median = np.array([np.median(angles[seen[:, k], k]) if seen[:, k].any() else 0.0 for k in range(angles.shape[1])])
    filled = np.where(seen, angles, median)
    k = max(1, int(round(LEVEL_SMOOTH_S * fps)))
    kernel = np.ones(k) / k
    smooth = np.stack([np.convolve(np.pad(filled[:, j], (k // 2, k - 1 - k // 2), mode="edge"), kernel, mode="valid")
                       for j in range(filled.shape[1])], axis=1)
    return np.hstack([smooth, seen.astype(float)])


def _smoothed(x: np.ndarray, fps: float) -> np.ndarray:
    """Each column averaged over LEVEL_SMOOTH_S (the ends held)."""
    k = max(1, int(round(LEVEL_SMOOTH_S * fps)))
    kernel = np.ones(k) / k
    return np.stack([np.convolve(np.pad(x[:, j], (k // 2, k - 1 - k // 2), mode="edge"), kernel, mode="valid")
                     for j in range(x.shape[1])], axis=1)


def _side_levels(angles: np.ndarray, fps: float) -> np.ndarray:
    """Per frame and left-right pair: how far apart its two sides are (degrees, averaged over a
    second; a frame without both sides read: the pair's median). Large while they move in turn
    (knee lifts), small while they move together or rest: where the sides' phase changes."""
    columns = []
    for group in PAIRS:
        left, right = (angles[:, ALL_ANGLES.index(f"{side}_{group}")] for side in ("left", "right"))
        apart = np.abs(left - right)
        seen = np.isfinite(apart)
        if seen.any():
            columns.append(np.where(seen, apart, np.median(apart[seen])))
    if not columns:
        return np.zeros((len(angles), 0))
    return _smoothed(np.stack(columns, axis=1), fps)


def _pair_motion(angles: np.ndarray, group: str) -> tuple[float, float] | None:
    """(correlation of its left and right angles, span) of a left-right pair that moves (span at
    least MOVING_DEG) with both sides read on SEEN_SHARE of these frames; None otherwise."""
    left, right = (angles[:, ALL_ANGLES.index(f"{side}_{group}")] for side in ("left", "right"))
    both = np.isfinite(left) & np.isfinite(right)
    if both.sum() < max(10, SEEN_SHARE * len(angles)):
        return None
    span = float(np.mean([np.percentile(v[both], 90) - np.percentile(v[both], 10) for v in (left, right)]))
    if span < MOVING_DEG or np.std(left[both]) < 1e-6 or np.std(right[both]) < 1e-6:
        return None
    return float(np.corrcoef(left[both], right[both])[0, 1]), span


def sides_distance(a: np.ndarray, b: np.ndarray) -> float:
    """How differently the two sides move in two stretches of angles, 0 (each pair's sides in the
    same phase relation) to 1 (together in one, in turn in the other): per left-right pair moving
    in both, half the change of its sides' correlation, weighted by its smaller span (the pairs that
    move most decide). Measured (BlazePose, MoveNet) over each of the dev clips of one movement: at
    most 0.22, two people read one at a time 0.26; fast knee lifts then goblet squats: 0.91."""
    num = den = 0.0
    for group in PAIRS:
        x, y = _pair_motion(a, group), _pair_motion(b, group)
        if x is None or y is None:
            continue
        weight = min(x[1], y[1])
        num += weight * abs(x[0] - y[0]) / 2
        den += weight
    return num / den if den else 0.0


def sides_curve(angles: np.ndarray, fps: float, window_s: float = WINDOW_S) -> tuple[np.ndarray, np.ndarray]:
    """(times, sides_distance between the window before and the window after each time)."""
    w = max(2, int(round(window_s * fps)))
    step = max(1, int(round(STEP_S * fps)))
    idx = np.arange(w, len(angles) - w + 1, step)
    d = np.array([sides_distance(angles[i - w:i], angles[i:i + w]) for i in idx])
    return idx / fps, d


def side_pattern(angles: np.ndarray) -> str:
    """How the two sides of the joint pair that moves most go: "together" (a squat, arm raises),
    "alternating" (marching: one side up while the other is down), or "" when it cannot be told."""
    best, pair = 0.0, None
    for group in PAIRS:
        joints = [f"{side}_{group}" for side in ("left", "right")]
        k = [ALL_ANGLES.index(j) for j in joints]
        both = np.isfinite(angles[:, k[0]]) & np.isfinite(angles[:, k[1]])
        if both.sum() < 10:
            continue
        span = float(np.mean([np.percentile(angles[both, j], 90) - np.percentile(angles[both, j], 10) for j in k]))
        if span > best:
            best, pair = span, joints
    if pair is None or best < MOVING_DEG:
        return ""
    return _pair_pattern(angles, pair)


# A person standing at rest: arms down, elbows, hips and knees straight, trunk upright. A
# repetition starts and ends at the end of its joint's range nearer this (arms raised from down,
# knees bent from straight), whatever the video shows first.
LYING_LEAN_DEG = 60.0  # the trunk leans further than this (toward lying flat): not upright
PAIR_SHARE = 0.5  # a repeating pair moving at least this share of a lone joint's span counts instead
NEUTRAL_DEG = {"shoulder": 15.0, "elbow": 170.0, "hip": 175.0, "knee": 175.0, "trunk_lean": 0.0, "trunk_tilt": 0.0}


def rep_rule(angles: np.ndarray, fps: float | None = None) -> dict | None:
    """The repetition rule of one movement (a routine file's `reps`): the joint pair that moves
    most, both sides together or alternating as they move (one joint when only one side moves),
    its thresholds at 35 % and 65 % of its span, starting at the end nearer a person at rest.
    Given fps, the pair that moves most among those that repeat (periodicity at least PERIODIC):
    lying sit-ups swing the arms widely but irregularly while the hips repeat; None when none does."""
    spans = {}
    for k, joint in enumerate(ALL_ANGLES):
        v = angles[np.isfinite(angles[:, k]), k]
        if len(v) >= 0.5 * len(angles) and joint != "trunk_tilt":
            spans[joint] = (float(np.percentile(v, 5)), float(np.percentile(v, 95)))
    tried, lone = set(), None
    for top in sorted(spans, key=lambda j: spans[j][0] - spans[j][1]):
        group = top.split("_", 1)[1] if top.startswith(("left_", "right_")) else top
        if group in tried:
            continue
        tried.add(group)
        rule = _rule_of(angles, spans, top)
        if rule is None or fps is None:
            return rule if lone is None else lone[0]
        if periodicity(angles, rule["joints"], fps) < PERIODIC:
            continue
        if len(rule["joints"]) == 2 or group not in PAIRS:
            # A pair read on both sides is preferred to a lone joint of a pair whose other side is
            # hidden (a lying side view), when it moves at least PAIR_SHARE as widely.
            if lone is not None and spans[top][1] - spans[top][0] < PAIR_SHARE * lone[1]:
                return lone[0]
            return rule
        if lone is None:
            lone = (rule, spans[top][1] - spans[top][0])
    return None if lone is None else lone[0]


def _rule_of(angles: np.ndarray, spans: dict, top: str) -> dict | None:
    lo, hi = spans[top]
    if hi - lo < 2 * MOVING_DEG:
        return None
    group = top.split("_", 1)[1] if top.startswith(("left_", "right_")) else top
    pair = [f"{side}_{group}" for side in ("left", "right")] if group in PAIRS else [top]
    # The other side joins when it moves at least half as much (a march, both arms), else one side.
    joints = [j for j in pair if j in spans and spans[j][1] - spans[j][0] >= 0.5 * (hi - lo)]
    lo = float(np.mean([spans[j][0] for j in joints]))
    hi = float(np.mean([spans[j][1] for j in joints]))
    sides = "alternating" if _pair_pattern(angles, joints) == "alternating" else "both"
    neutral = NEUTRAL_DEG.get(group, 180.0)
    start = "high" if abs(hi - neutral) <= abs(lo - neutral) else "low"
    lean = angles[:, ALL_ANGLES.index("trunk_lean")]
    lean = lean[np.isfinite(lean)]
    if len(lean) and np.percentile(lean, 90) > LYING_LEAN_DEG:
        # The body goes off upright (lying: sit-ups): a person at rest standing says nothing of
        # where this movement starts; it starts where the instructor starts it.
        track = _row_means(angles[:, [ALL_ANGLES.index(j) for j in joints]])
        opening = track[np.isfinite(track)][:max(1, len(track) // 10)]
        if len(opening):
            start = "high" if abs(hi - float(np.median(opening))) <= abs(lo - float(np.median(opening))) else "low"
    return {"joints": joints, "low": round(lo + 0.35 * (hi - lo), 1), "high": round(lo + 0.65 * (hi - lo), 1),
            "start": start, "min_rep_s": 0.25, **({"sides": sides} if sides != "both" else {})}


def at_start(angles: np.ndarray, cut: int, end: int, rule: dict, fps: float) -> int:
    """Where the movement cut at frame `cut` starts its first repetition: the last frame at its
    start end within BACK_S before the cut (a cut placed a moment late, inside the first
    repetition), else the first one after it (a stretch that opens in the middle of one), so the
    routine's first keyframe is its start position."""
    if rule.get("sides", "both") != "both":  # one side is always on its way: any frame starts
        return cut
    ks = [ALL_ANGLES.index(j) for j in rule["joints"]]

    def starting(i: int) -> bool:
        values = angles[i, ks]
        return bool(np.isfinite(values).all() and ((rule["start"] == "high" and (values >= rule["high"]).all())
                                                   or (rule["start"] == "low" and (values <= rule["low"]).all())))

    def deepest(i: int, lowest: int) -> int:
        """The frame of this stay at the start end where the joints are furthest out (arms lowest,
        knees straightest): the start position itself, not the moment of passing the threshold."""
        a, b = i, i
        while a - 1 >= lowest and starting(a - 1):
            a -= 1
        while b + 1 < end and starting(b + 1):
            b += 1
        values = angles[a:b + 1][:, ks].mean(axis=1)
        return a + int(np.argmax(values) if rule["start"] == "high" else np.argmin(values))

    # Looking back, only frames in this movement's own posture: every joint within its range in
    # the part (widened by MIN_SPAN_DEG). Lying at the end of sit-ups has the hips as open as a
    # squat's start, but the trunk flat: that is the movement before, not this one's start.
    sig = signature(angles[cut:end])
    known = np.isfinite(sig[:, 0])

    def belongs(i: int) -> bool:
        v = angles[i, known]
        lo, hi = sig[known, 0] - MIN_SPAN_DEG, sig[known, 1] + MIN_SPAN_DEG
        return bool(np.all(~np.isfinite(v) | ((v >= lo) & (v <= hi))))

    back = max(0, cut - int(round(BACK_S * fps)))
    while back < cut and not all(belongs(i) for i in range(back, cut)):
        back += 1
    for i in range(cut, back - 1, -1):
        if starting(i):
            return deepest(i, back)
    # Opening in the middle of a repetition, the next start comes within one repetition
    # (PERIOD_MAX_S); none by then: the rule's start is not this movement's resting pose (a knee
    # lift read as both knees together never has both down), so the part begins at its cut.
    ahead = min(end, cut + int(round(PERIOD_MAX_S * fps)))
    return next((deepest(i, cut) for i in range(cut, ahead) if starting(i)), cut)


def at_shot(angles: np.ndarray, shot: int, end: int, rule: dict, fps: float) -> int:
    """Where a movement whose shot begins at frame `shot` (a hard cut) starts: at the cut, when its
    counted joints are at the rule's start there (the stillness before the first repetition is the
    new part's: the instructor ready), else at the first frame at the start within one repetition
    (PERIOD_MAX_S; a shot opening mid-repetition), else at the cut. Never before it: the frames
    before a hard cut are another shot."""
    if rule.get("sides", "both") != "both":  # one side is always on its way: any frame starts
        return shot
    ks = [ALL_ANGLES.index(j) for j in rule["joints"]]

    def starting(i: int) -> bool:
        values = angles[i, ks]
        return bool(np.isfinite(values).all() and ((rule["start"] == "high" and (values >= rule["high"]).all())
                                                   or (rule["start"] == "low" and (values <= rule["low"]).all())))

    ahead = min(end, shot + int(round(PERIOD_MAX_S * fps)))
    return next((i for i in range(shot, ahead) if starting(i)), shot)


def periodicity(angles: np.ndarray, joints, fps: float) -> float:
    """How strongly these joints repeat: per joint, the best correlation of its track with itself
    PERIOD_MIN_S..PERIOD_MAX_S later (1: every cycle the same), averaged over the joints."""
    values = []
    for joint in joints:
        x = angles[:, ALL_ANGLES.index(joint)]
        x = x[np.isfinite(x)]
        lo, hi = max(1, int(round(PERIOD_MIN_S * fps))), min(int(round(PERIOD_MAX_S * fps)), len(x) // 2)
        if hi <= lo:
            values.append(0.0)
            continue
        x = x - x.mean()
        best = 0.0
        for lag in range(lo, hi + 1):
            a, b = x[:-lag], x[lag:]
            den = float(np.sqrt((a * a).sum() * (b * b).sum()))
            if den > 0:
                best = max(best, float((a * b).sum()) / den)
        values.append(best)
    return float(np.mean(values)) if values else 0.0


def _pair_pattern(angles: np.ndarray, joints) -> str:
    """"together" / "alternating" / "" for a left-right pair of joints: their angles correlated
    beyond SIDE_CORRELATION either way (side_pattern asks it of the pair that moves most)."""
    if len(joints) != 2:
        return ""
    a, b = (angles[:, ALL_ANGLES.index(j)] for j in joints)
    both = np.isfinite(a) & np.isfinite(b)
    if both.sum() < 10 or np.std(a[both]) < 1e-6 or np.std(b[both]) < 1e-6:
        return ""
    r = float(np.corrcoef(a[both], b[both])[0, 1])
    return "together" if r > SIDE_CORRELATION else "alternating" if r < -SIDE_CORRELATION else ""


def match(angles: np.ndarray, fps: float, routine) -> float | None:
    """How far (0..1) this stretch's movement is from a bundled routine's, or None when it is not
    that movement: the routine's counted joints (its moving ones when it counts none) must move
    here through an overlapping range, repeat, move their two sides as the routine does, be the
    main movement here, and the joints the routine holds still must stay still."""
    spans = routine.angle_spans
    rule = routine.reps
    moving = [j for j, (lo, hi) in spans.items() if hi - lo >= MIN_SPAN_DEG]
    counted = list(rule.joints) if rule is not None else moving
    if not counted:
        return None
    sig = signature(angles)
    here = {j: sig[ALL_ANGLES.index(j)] for j in ALL_ANGLES}
    span = {j: float(here[j][1] - here[j][0]) if np.isfinite(here[j][0]) else 0.0 for j in ALL_ANGLES}
    if any(span[j] < MOVING_DEG for j in counted):
        return None
    main = float(np.mean([span[j] for j in counted]))
    if main < MAIN_SHARE * max(span.values()):
        return None
    held = list(rule.still) if rule is not None else []
    if rule is not None and rule.sides != "both":  # one side moves while the other waits
        held = [j for j in held if j not in counted]
    if any(span[j] > STILL_SHARE * main for j in held):
        return None
    pattern = _pair_pattern(angles, counted)
    wanted = "together" if rule is None or rule.sides == "both" else "alternating"
    if len(counted) == 2 and pattern and pattern != wanted:
        return None
    if rule is not None and periodicity(angles, counted, fps) < PERIODIC:
        return None
    theirs = np.array([[*spans[j]] for j in counted])
    return distance(np.array([here[j] for j in counted]), theirs)


def recognise(angles: np.ndarray, fps: float) -> str:
    """The bundled routine (of RECOGNISABLE) whose movement this stretch is, "" when none fits
    within RECOGNISE_DISTANCE."""
    from common.coach import routine as routines

    best, name = RECOGNISE_DISTANCE, ""
    for candidate in RECOGNISABLE:
        d = match(angles, fps, routines.load(candidate))
        if d is not None and d < best - 1e-9:
            best, name = d, candidate
    return name


def thresholds(angles: np.ndarray, joints) -> tuple[float, float]:
    """(low, high) at 35 % and 65 % of these joints' span here (5th to 95th percentile, averaged)."""
    spans = []
    for joint in joints:
        v = angles[:, ALL_ANGLES.index(joint)]
        v = v[np.isfinite(v)]
        if len(v):
            spans.append((float(np.percentile(v, 5)), float(np.percentile(v, 95))))
    lo, hi = (float(np.mean([a for a, _ in spans])), float(np.mean([b for _, b in spans]))) if spans else (0.0, 180.0)
    return round(lo + 0.35 * (hi - lo), 1), round(lo + 0.65 * (hi - lo), 1)


def _counted_track(angles: np.ndarray, rule, joint: str = "") -> np.ndarray:
    """The counted joints' angle per frame (for an alternating rule: the same side's, if `joint`
    has a side), NaN where not read."""
    joints = list(rule.joints)
    side = joint.split("_", 1)[0] if joint.startswith(("left_", "right_")) else ""
    if rule.sides != "both" and side and any(j.startswith(side + "_") for j in joints):
        joints = [j for j in joints if j.startswith(side + "_")]
    return _row_means(angles[:, [ALL_ANGLES.index(j) for j in joints]])


def _row_means(values: np.ndarray) -> np.ndarray:
    """Each row's mean over its read (finite) values, NaN for a row with none."""
    seen = np.isfinite(values)
    n = seen.sum(axis=1)
    total = np.where(seen, values, 0.0).sum(axis=1)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def closes_at_turn(angles: np.ndarray, joints, rule) -> dict:
    """Per joint: True when its angle is smaller at the far end of the movement (the turn) than at
    its start position (it closes on the way there), False when larger, "held" when the two differ
    by less than MIN_SPAN_DEG / 2 (the movement keeps it about still), None without a repetition
    rule (no phases to tell)."""
    out: dict = {}
    turned = np.array(phases(angles, rule)) == "turn" if rule is not None else None
    for joint in joints:
        if turned is None or turned.all() or not turned.any():
            out[joint] = None
            continue
        x = angles[:, ALL_ANGLES.index(joint)]
        at_turn, at_start = x[turned & np.isfinite(x)], x[~turned & np.isfinite(x)]
        if not len(at_turn) or not len(at_start):
            out[joint] = None
            continue
        diff = float(np.median(at_turn) - np.median(at_start))
        out[joint] = "held" if abs(diff) < MIN_SPAN_DEG / 2 else diff < 0
    return out


def phases(angles: np.ndarray, rule) -> list[str]:
    """Per frame: "turn" where the counted joints are past the middle of the rule's thresholds
    toward the far end, else "start"."""
    counted = _counted_track(angles, rule)
    middle = (rule.low + rule.high) / 2
    out = []
    for v in counted:
        turned = np.isfinite(v) and ((v < middle) if rule.start == "high" else (v > middle))
        out.append("turn" if turned else "start")
    return out


def find_movements(poses, worlds, fps: float, dropped: list | None = None,
                   pictures: np.ndarray | None = None) -> list[Movement]:
    """The movements of an instructor's pose track, in order, repeats grouped (`dropped`, when
    given, gets each moving stretch left out: movements_of). `pictures`, when given (one small grey
    copy of each frame: picture), tell the new shots (shot_changes); else the pose's jumps do (hard_cuts)."""
    angles = angle_track(poses, worlds)
    if pictures is not None:
        jumps = shot_changes(pictures, fps)
        return movements_of(angles, fps, sorted(jumps), dropped, jumps)
    hard = hard_cuts(poses, fps)
    p = [np.asarray(x, dtype=float) for x in poses]
    jumps = {h: _body_step(p[h - 1], p[h]) for h in hard}
    return movements_of(angles, fps, hard, dropped, jumps)


def movements_of(angles: np.ndarray, fps: float, hard: list[int] | None = None,
                 dropped: list | None = None, jumps: dict | None = None) -> list[Movement]:
    """The movements of an angle track; `hard`: the frames where a new shot begins (hard_cuts).
    `dropped`, when given, gets (start_s, end_s) of each moving stretch too short to be a part
    (MIN_PART_S), so the build can say what it left out rather than lose it silently. `jumps`: how far the
    picture (shot_changes) or the body (hard_cuts) jumps at each hard cut, when known: a change of
    movement snaps to the largest."""
    dropped = [] if dropped is None else dropped
    hard = sorted(hard or [])
    still = still_frames(angles, fps)
    # Moving stretches between pauses, each then cut where the movement changes.
    stretches, start = [], None
    for i, s in enumerate([*still, True]):
        if not s and start is None:
            start = i
        elif s and start is not None:
            stretches.append((start, i))
            start = None
    parts = []
    opens = {}  # a part's start -> the hard cut it begins at (a new shot opening still, or a snapped change)
    snap = int(round(SNAP_S * fps))
    for n, (a, b) in enumerate(stretches):
        if (b - a) / fps < MIN_PART_S:
            dropped.append((a / fps, b / fps))
            continue
        bounds = [a]
        for c in find_cuts(angles[a:b], fps):
            # A change of movement placed near a hard cut is at the cut: the pose track's own jump
            # places it to the frame, where the signatures' windows blur it over seconds.
            near = [h for h in hard if a < h < b and abs(h - (a + c)) <= snap]
            # Of several, the largest jump: a shot changes once, where a clip of few pictures a second
            # (squats_5reps, 10 fps joined at 30) jumps at every picture of a fast squat (0.08-0.15 of
            # the body a step against the join's 0.22-0.33): its part began at the first squat's jump,
            # 1.2 s and a squat late (target 4 of 5), the nearest to the change found.
            cut = (max(near, key=lambda h: (jumps.get(h, 0.0), -abs(h - (a + c)))) if jumps
                   else min(near, key=lambda h: abs(h - (a + c)))) if near else a + c
            if near:
                opens[cut] = cut
            bounds.append(cut)
        bounds.append(b)
        # A pause with a hard cut in it: what follows the cut (the instructor standing ready in the
        # new shot) is the next part's; its movement is still read from where it moves.
        before = stretches[n - 1][1] if n else 0
        inside = [h for h in hard if before < h <= a]
        if inside:
            opens[a] = inside[-1]
        for s, e in zip(bounds, bounds[1:]):
            if (e - s) / fps >= MIN_PART_S:
                parts.append((s, e))
            else:
                dropped.append((s / fps, e / fps))
    sigs = [signature(angles[s:e]) for s, e in parts]
    patterns = [side_pattern(angles[s:e]) for s, e in parts]
    known = [recognise(angles[s:e], fps) for s, e in parts]
    counted = [rep_rule(angles[s:e], fps) is not None for s, e in parts]
    groups: list[int] = []
    for k, sig in enumerate(sigs):
        # Two parts recognised as the same routine's movement are repeats, as different ones are
        # not; otherwise the same movement is the same joints through overlapping ranges, the
        # sides moving the same way (marching is not a squat, though the same joints move through
        # the same angles).
        same = next((groups[j] for j in range(k) if known[k] and known[j] == known[k]), None)
        if same is not None:
            groups.append(same)
            continue
        # A timed part (nothing that repeats: a dance) is never a repeat of a counted one, nor one of it.
        earlier = [(distance(sig, sigs[j]), groups[j]) for j in range(k)
                   if (not patterns[k] or not patterns[j] or patterns[k] == patterns[j])
                   and not (known[k] and known[j]) and counted[k] == counted[j]]
        near = min(earlier, default=(1.0, -1))
        groups.append(near[1] if near[0] < GROUP_DISTANCE else max(groups, default=-1) + 1)
    out = []
    for (s, e), sig, g, name in zip(parts, sigs, groups, known):
        spans = sig[:, 1] - sig[:, 0]
        order = [ALL_ANGLES[k] for k in np.argsort(-np.nan_to_num(spans, nan=0.0)) if spans[k] > MOVING_DEG]
        # No joint that repeats (a dance): a timed part, nothing counted.
        rule = rep_rule(angles[s:e], fps)
        repeats = periodicity(angles[s:e], rule["joints"], fps) if rule else 0.0
        shot = opens.get(s)
        if shot is not None:  # a new shot: nothing before it is this part's, nothing after it the last's
            first = at_shot(angles, shot, e, rule, fps) if rule else shot
            s = min(s, shot)
            if out and round(out[-1].end_s * fps) > shot:
                out[-1].end_s = shot / fps
        else:
            first = at_start(angles, s, e, rule, fps) if rule else s
        if out and first < round(out[-1].end_s * fps):  # its first repetition began before the cut
            out[-1].end_s = first / fps
        out.append(Movement(start_s=s / fps, end_s=e / fps, group=g, joints=order, rule=rule, first_s=first / fps,
                            routine=name, periodic=round(repeats, 2), shot=shot is not None))
    return out


def count_reps(routine, poses, worlds, fps: float, lead: int = 0, tail: int = 0) -> int:
    """The instructor's own repetitions in a part, counted as a participant's are (the part's
    routine's rule), for the program file's target: the first `lead` frames (before the part,
    program_session.LEAD_S) are watched, as a participant's counter watches them, but what they
    count is no repetition of the part; the last `tail` frames (after the part, up to
    program_session.GRACE_S) are heard only while a repetition under way at the part's end is not
    yet back at its start, and finish at most those (a cut placed a moment early, inside the last
    repetition, lost it from the target while the participant's counter heard it: ProgramSession)."""
    from common.coach.geometry import joint_visibility
    from common.coach.reps import RepCounter

    if routine.reps is None:
        return 0
    counter = RepCounter(routine.reps, reference=routine.rep_reference())
    end = len(poses) - tail
    allowed = None
    for i, (p, w) in enumerate(zip(poses, worlds)):
        if i == lead:  # the part starts: its counter is handed over as a participant's is
            from common.coach.program_session import begin_part

            begin_part(counter)
        if i >= end:
            under_way = sum(c.state == "out" for c in counter.counters.values())
            if allowed is None:
                allowed = counter.count + under_way
            if not under_way:
                break
        p = np.asarray(p)
        counter.update(i / fps, joint_angles(p, None if w is None else np.asarray(w)), joint_visibility(p))
    return counter.count if allowed is None else min(counter.count, allowed)
