"""Repetition counting that follows the person: hysteresis on their own range of motion, per side.

How peers count, and what is taken from each:
- ultralytics' AIGym: one angle per keypoint triple against two fixed angles ("up" above one,
  "down" below the other), a count on the way back. Simple and model-agnostic, but the fixed
  angles are the textbook's: a senior's shallow squat or a lateral raise to shoulder height never
  reaches "down", and one leg at a time never moves "both".
- MediaPipe's pose-classification repetition counter: a per-frame probability of being in the
  turned pose (k-NN over pose embeddings, smoothed), with separate enter and exit thresholds
  (hysteresis) and a count on exit. The hysteresis is what stops jitter double-counting; the
  classifier needs training poses per exercise and per camera view, which a routine file has not.
- Adaptive thresholds (the rehab-counting literature): thresholds set from the person's own
  observed range (their start and their turning points), not a constant.
silvergym keeps AIGym's angles (a routine file names joints, no training needed), turns them into
MediaPipe's normalised progress with enter/exit hysteresis, and adapts the enter level to the
person's own range:

- Progress p of a joint = how far it has moved from the participant's own start angle, over the
  routine's nominal excursion (the instructor's start, the routine's keyframe, to the routine's
  turned threshold): p = 1 is the routine's target depth. The own start is the highest (starting
  low: the lowest) median over half a second seen so far, so a senior whose knee never straightens
  past 150 deg needs the same bend as the instructor, not a straighter knee.
- A repetition = leave the start (p above the exit level, the routine's start threshold), reach a
  turning point, come back (p below the exit level again). It counts when its deepest progress
  reaches the enter level:
    enter = max(floor, min(1, own_share x the median depth of their recent clear excursions))
  own_share 0.5 (the middle of their own range); the median over their last 5 excursions deeper
  than the floor, so the first repetitions calibrate it and it follows them as they tire; the
  routine's target is the most it ever asks; the floor (0.6 of the routine's excursion: 30 deg for
  the squat) keeps noise, sway and a half-hearted dip from counting. An excursion that stays below
  the enter level is `rejected`, not counted, except a first one short of the floor before any
  clear one has shown their range: it waits (with `repeats`) and counts with the first clear
  repetition if it reached half of their own depth and is like it (`own_level`; the goblet cut's
  first squat, 0.599 of the target, was lost to the 0.6 floor). Why not the routine's target alone: measured on
  ../shared/media/dev (tests/test_counting_real.py), real squats stopped at 120 deg (a senior's
  depth) bend the knees 35-45 deg from their own start, short of the squat's 50.
- Each repetition's depth is kept: the summary reports the median depth against the routine's
  target (`rep_depth`), so a shallow mover is counted and coached rather than ignored.
- Sides (`RepRule.sides`): "both" moves every listed joint together (all must move: the depth
  is their mean once the least moved has gone half the floor, else the least moved's, so one
  free-swinging limb is not a repetition while a far knee a side view under-reads does not lose
  a squat); "alternating" (marching) and "one_side" (a knee
  extension with one leg, then the other) count the left and the right joints as two counters,
  reported per side; the total is their sum.
- Nothing counts until the participant has held the start position for `settle_s` (getting into
  position is not a repetition), or has been seen in the routine's own start zone, by the
  instructor's start angle (a march after a cut showed a leg down for 2 frames before its first lift). A repetition shorter than `min_rep_s` is rejected (a twitch), timed
  from the last frame seen at the start, so frames without the joints do not shorten it.
- A joint the model reads with low visibility (the far leg in a side view, a knee behind a table)
  or not at all counts less than one it sees: while one listed joint of a counter is seen well,
  only those seen well decide. A joint missed for a frame or two keeps its last angle for
  `hold_s`; a frame where a joint has had no data for longer does not move the state.
- Fast movements: hysteresis, not smoothing, removes jitter, so nothing delays a turning point; at
  2 repetitions a second and 15 fps a repetition is 7 frames, enough for leave -> turn -> return.
- Another movement is not a repetition. A routine counts one angle, and many movements move it:
  a squat bends the hips and knees a march and a knee extension count, leaning the trunk opens
  the shoulder angle an arm raise counts, jumping jacks flex the hips. Each check below is judged
  at the repetition's deepest moment against this repetition's own movement (relative, not a
  fitted constant), and only on what is seen; a rejected excursion does not calibrate the enter
  level:
  * the rule's `still` joints (an arm raise: the knees and the trunk; a seated knee extension: the
    hips; a curl: the shoulders, knees and trunk) must have moved less than half the counted
    joints' degrees (at most the routine's target: a reading past it licenses nothing more); one
    side at a time (`alternating`, `one_side`): the other side's counted joints, from their own
    start, must not have moved the same way half as far (both legs at once is a squat or a jump);
  * `against_gravity` (an arm raise, a knee lift, a knee extension, a curl): the limb measured from
    straight down (upper arm, thigh, shin, forearm; in 3D with world landmarks, else in the
    picture) must move at least half as much as its angle to the body (three quarters, where a limb
    of a both-sides rule went unread all the repetition: the one seen is all the evidence) and at least
    the floor of the routine's excursion (a dance step's thigh lifts 15-24 deg), and the other side's must
    not lift half as much with it: a trunk leaning or a squat changes the angle to the body
    without lifting the limb;
  * `feet_planted` (a squat, a chair stand): a foot a quarter of the hips' standing height above
    the other, or one foot hidden, is a knee lifted instead unless the hips went down over the
    lower foot at least half as far as the knees' bend implies (a knee lift's standing leg keeps
    them up; a model's guess at a hidden foot may put it high);
  * `moves_with` (a squat: the hips; marching: the knees): the joints that move along
    with the counted ones must have moved, from the same frame at the start, at least half the
    degrees the routine's keyframes give them per degree of the counted joints (a knee dip with the
    trunk upright, a jump's landing, bends the knees without the hips); one side at a time, the
    other side's must not move the counted way half as far as the counted joints (a squat bends
    both knees, a march's standing knee stays straight);
  * `hips_stay_up` (marching): the hips coming down a quarter of their standing height over the
    floor (in the picture, from the start to the deepest moment) is both legs bending, a squat, even
    where the other knee is hidden or misread straight;
  * `in_place` (a squat, a chair stand): the hips travelling across the picture their standing height
    over one repetition is steps or walking, or the model following another person; the ankles
    moving apart or together across the picture by half of it is a jump or a step (a jumping jack
    spreads and closes the feet, a squat's stance stays as it was);
  * the person's own start further than `position_span` (45 deg) from the instructor's start angle
    is another body position (standing for a seated march).
- A repetition repeats (`RepRule.repeats`, every bundled routine): an exercise is done again and
  again, a dance step, a crouch before a jump or a stretch crosses the angles once. A counter's
  first repetition that passed every check waits until a second like it (depth and duration within
  a factor of `alike`, 2) has passed them too; then both count at once (the TV shows 0, then 2).
  An excursion as deep as the floor rejected as another movement in between (any check above)
  drops the waiting one. Alike for a leg movement (every counted joint a hip or a knee) means the
  arms at the turning point too: the second's shoulders within the degrees the repetition moved
  the counted joints of where the first's were (`_arms_elsewhere`: a jumping jack's landings,
  arms overhead then down, are knee dips that pass for shallow squats from the side).
  One unlike it takes its place. Measured on the real clips against the routines whose movement
  they are not (tests/test_counting_real.py): 21 of the 27 pairs that still counted were single
  excursions, or an unlike pair (squats_5reps at 10 fps as curls and lateral raises, dancer,
  dance_600's step as marching, the stretch's lunges as squats and knee extensions).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from common.coach.geometry import JOINT_ANGLES
from common.coach.keypoints import COMMON_INDEX
from common.coach.routine import RepRule

SIDES = ("left", "right")
HIPS_SEEN = 0.3  # a point's score from which hip_height uses it
# A both-sides rule with one limb unread all the repetition: the seen limb must lift this share of
# the degrees its angle to the body moved (`_did_not_lift`). Fitted between two real readings, so a
# judgement, not a law: the jumper of two_people_sports2d swinging one arm before his flip lifts
# 0.60-0.70 of it (not a jack); side-on jumping jacks with the far arm hidden 0.87-1.06 (jacks: as
# 1.0 first, a part built from front-view jacks counted 0 of 7 of them, tests/test_built_part_views.py).
ONE_LIMB_SHARE = 0.75
LEG_JOINTS = ("_hip", "_knee")  # a rule counting only these is a leg movement (its arms are compared: `_arms_elsewhere`)


def from_down(pose: np.ndarray | None, world: np.ndarray | None, joints) -> dict[str, float]:
    """Each joint's distal segment (the upper arm at the shoulder, the thigh at the hip, the shin at
    the knee, the forearm at the elbow) measured from straight down, degrees: 0 hanging, 90
    level, 180 overhead. In 3D from world landmarks (y down, as BlazePose's follow the camera),
    else in the picture (a 2D model sees it only across the picture: the routine's `view`)."""
    if pose is None or not len(pose):
        return {}
    out = {}
    for j in joints:
        _, b, c = JOINT_ANGLES[j]
        if b == "vertical" or min(pose[COMMON_INDEX[b]][2], pose[COMMON_INDEX[c]][2]) < HIPS_SEEN:
            continue
        pts = world if world is not None else pose[:, :2]
        seg = np.asarray(pts[COMMON_INDEX[c]], dtype=float) - np.asarray(pts[COMMON_INDEX[b]], dtype=float)
        n = float(np.linalg.norm(seg))
        if n > 0 and np.isfinite(n):
            out[j] = float(np.degrees(np.arccos(np.clip(seg[1] / n, -1.0, 1.0))))
    return out


def hips_and_feet(pose: np.ndarray | None) -> tuple[float | None, list[float]]:
    """(the hips' height in the picture, the feet seen), pixels, y down; None / [] where not seen."""
    if pose is None or not len(pose):
        return None, []
    hip = pose[COMMON_INDEX["mid_hip"]]
    feet = [float(pose[COMMON_INDEX[n]][1]) for n in ("left_ankle", "right_ankle") if pose[COMMON_INDEX[n]][2] >= HIPS_SEEN]
    return (float(hip[1]) if hip[2] >= HIPS_SEEN else None), feet


@dataclass
class _Counter:
    """One hysteresis counter over a group of joints that move together (all the rule's joints,
    or one side's)."""

    joints: tuple[str, ...]
    rule: RepRule
    reference: dict[str, float] | None
    settle_s: float
    hold_s: float
    seen_well: float
    start_window_s: float
    floor: float
    own_share: float
    recent_depths: int
    still: tuple = ()  # joints held still (any change counts against the repetition)
    other_side: tuple = ()  # the other side's counted joints: a change the counted way counts against it
    still_share: float = 0.5
    count: int = 0
    rejected: int = 0
    another_movement: int = 0  # excursions rejected because a joint held still moved as much
    state: str = "settling"  # settling -> start -> out -> start ...
    own_start: dict = field(default_factory=dict)
    depths: list = field(default_factory=list)  # the deepest progress of every counted repetition
    durations: list = field(default_factory=list)
    excursions: list = field(default_factory=list)  # (t back, deepest progress, seconds) of every one
    _clear: deque = field(default_factory=lambda: deque(maxlen=5))  # recent excursions deeper than the floor
    _peak: float = 0.0
    _start_since: float | None = None
    _last_at_start: float | None = None
    _recent: deque = field(default_factory=deque)
    _last_seen: dict = field(default_factory=dict)
    _provisional: set = field(default_factory=set)
    _base: dict = field(default_factory=dict)  # held-still joints' angles on the last frame at the start
    _rep_base: dict = field(default_factory=dict)  # ... as the repetition left the start
    _at_peak: dict = field(default_factory=dict)  # their change (degrees) at the repetition's deepest moment
    siblings: list = field(default_factory=list)  # the other sides' counters (their own start angles)
    feet_planted: bool = False
    foot_lifted: float = 0.25  # a foot this much of the standing hips' height above the other is lifted
    another_foot: int = 0  # excursions rejected because one foot was lifted (a knee lift, not a squat)
    another_position: int = 0  # excursions rejected because the person started far from the routine's start
    against_gravity: bool = False
    another_lift: int = 0  # excursions rejected because the limb did not lift against gravity with the angle
    _g_base: dict = field(default_factory=dict)  # the counted limbs' angle from straight down, last frame at the start
    _g_rep: dict = field(default_factory=dict)
    _g_at_peak: dict = field(default_factory=dict)
    position_span: float = 45.0
    # (hips' height over the floor, feet's height apart, the hips' y and x, the feet's distance across), in
    # the picture, last frame at the start
    _legs_base: tuple = (None, None, None, None, None)
    _rep_legs: tuple = (None, None, None, None, None)
    _legs_at_peak: tuple = (None, None, None, None, None)
    alike: float = 2.0  # a repetition like another: depth and duration within this factor of it
    waiting: tuple | None = None  # (depth, seconds, middle) of a first repetition waiting for a second like it (RepRule.repeats)
    waiting_shallow: bool = False  # ... done before their own range was known, short of the floor: judged against it
    # A leg movement's arms at its turning point (RepRule.repeats: the second like the first puts the
    # arms where the first did; `_arms_elsewhere`). () for a rule that counts an arm joint.
    arms: tuple = ()
    _arms_seen: dict = field(default_factory=dict)  # arm joint -> (t, angle) last read seen well
    _arms_at_peak: dict = field(default_factory=dict)  # ... held at this excursion's deepest moment
    waiting_arms: dict = field(default_factory=dict)  # ... at the waiting repetition's
    arms_elsewhere: int = 0  # first repetitions dropped because the next put the arms elsewhere
    middles: list = field(default_factory=list)  # each counted repetition's middle, in the counter's time (t)
    unconfirmed: int = 0  # first repetitions dropped because the next one was not like them
    moves_with: dict = field(default_factory=dict)  # this side's joints that move along -> their share (RepRule.moves_with)
    moves_other: tuple = ()  # the other side's moves_with joints: held still while this side moves
    not_along: int = 0  # excursions rejected because the joints that move along did not (or the other side's did)
    hips_stay_up: bool = False  # RepRule.hips_stay_up
    hips_down: float = 0.25  # ... the hips this much of their standing height lower are a squat's, not a march's
    hips_came_down: int = 0  # excursions rejected because the hips came down over the floor (a squat, not a knee lift)
    in_place: bool = False  # RepRule.in_place
    travel: float = 1.0  # ... hips moving across the picture this much of their standing height: walking
    walked: int = 0  # excursions rejected because the hips travelled across the picture (walking, another person)
    _across: list = field(default_factory=list)  # the hips' leftmost and rightmost x over this repetition so far
    feet_stay: float = 0.5  # ... the feet moving apart or together this much of the hips' standing height: a jump or a step
    feet_moved: int = 0  # excursions rejected because the feet moved apart or together (a jumping jack, a step)
    _read: set = field(default_factory=set)  # the counted joints read (seen well or not) on a picture of this excursion
    _apart: list = field(default_factory=list)  # the feet's least and most distance apart across the picture over this repetition
    _along_at_peak: dict = field(default_factory=dict)  # counted and moves_with joints' change the counted way at the deepest moment
    # A program part's counter (program_session.begin_part sets judge_way_out) counts its first
    # repetitions only with their way out seen: not when the first frame out was already `at_once` of
    # the excursion's deepest or more (a video cut from the previous movement's end pose to the top of
    # the next's: 0.85-0.96 of it in one frame; a person's, on the real fast high knees: at most 0.38
    # at 30 fps, 0.75 at 15 fps).
    judge_way_out: bool = False
    at_once: float = 0.8
    _first_out: float = 0.0  # the depth on the excursion's first frame out of the start
    way_out_unseen: int = 0  # excursions rejected because they left the start and turned in one frame (a cut)
    # A stay in the routine's own start zone (by the instructor's start angle) after a whole excursion
    # (its depth at the enter level): the repetition is back at a start, the person's start is there now,
    # not where their own start angle was learned (the arms of a previous movement hanging lower: a
    # program's lateral raises after jumping jacks counted 0 of 4, the counter out for good). Held
    # stay_s within stay_deg on every deciding joint (the real lateral raiser rests 0.4 s between raises).
    stay_s: float = 0.3
    stay_deg: float = 10.0
    _stay: dict = field(default_factory=dict)  # joint -> (since, lowest, highest) of the current stay
    restarted: int = 0  # times the start was taken again from such a stay
    # Excursions that passed every check, lasted min_rep_s and went past the routine's start band but
    # stayed short of the level that counts (a tally only: SessionScorer.seen_not_measured reads it).
    short_of_level: int = 0

    def __post_init__(self):
        self._clear = deque(maxlen=self.recent_depths)

    # -- the joint's own start and the nominal excursion ------------------------------------------
    def _sign(self) -> float:
        return 1.0 if self.rule.start == "high" else -1.0

    def excursion(self, joint: str) -> tuple[float, float]:
        """(exit, turned): degrees from the start the routine puts its start threshold and its
        turned threshold at, from the instructor's start angle (or, without one, the person's own:
        the rule's thresholds then stand as written)."""
        own = self.own_start.get(joint)
        ref = (self.reference or {}).get(joint, own)
        if ref is None:
            return 0.0, 0.0
        if self.rule.start == "high":
            return ref - self.rule.high, ref - self.rule.low
        return self.rule.low - ref, self.rule.high - ref

    def thresholds(self, joint: str) -> tuple[float, float]:
        """(low, high) for this joint at the routine's nominal depth, moved with the person's start."""
        low, high = self.rule.low, self.rule.high
        if self.reference and joint in self.reference and joint in self.own_start:
            shift = self.own_start[joint] - self.reference[joint]
            low, high = low + shift, high + shift
        return low, high

    def enter_level(self) -> float:
        """The progress a repetition must reach: the routine's target, or less for a person whose
        own clear repetitions are shallower, never below the floor."""
        if not self._clear:
            return 1.0
        return max(self.floor, min(1.0, self.own_share * float(np.median(self._clear))))

    def own_level(self) -> float:
        """The progress a first repetition done before the person's own range was known must reach:
        own_share of their clear repetitions' median depth (as enter_level, without the floor), at
        least the routine's start band (the exit level)."""
        if not self._clear:
            return 1.0
        return max(self._start_band(), min(1.0, self.own_share * float(np.median(self._clear))))

    def _start_band(self) -> float:
        """The exit level as progress: how far the routine's start threshold is from the start."""
        exit_deg, turned_deg = self.excursion(self.joints[0])
        return exit_deg / turned_deg if turned_deg > 0 else self.floor

    def _learn_start(self, t: float, values: list[float | None]) -> None:
        self._recent.append((t, values))
        # Over start_window_s, and never fewer than the three readings a median needs: a loaded box
        # reading 3 poses a second holds 1-2 in half a second, and the start then stood in as the
        # last reading itself (provisional, below), moving with the person: progress stayed near 0
        # and nothing counted (dev/squat_side_studio at 3 a second: 0 of 8 squats; now 7-8).
        while len(self._recent) > 3 and t - self._recent[0][0] > self.start_window_s:
            self._recent.popleft()
        pick = max if self.rule.start == "high" else min
        for k, joint in enumerate(self.joints):
            samples = [v[k] for _, v in self._recent if v[k] is not None]
            if len(samples) >= 3:
                median = float(np.median(samples))
                known = self.own_start.get(joint) if joint not in self._provisional else None
                self.own_start[joint] = float(pick(known if known is not None else median, median))
                self._provisional.discard(joint)
            elif samples and (joint not in self.own_start or joint in self._provisional):
                # Until three frames are in (0.13 s at 15 fps), the median of those seen stands
                # in, so the first frames already count toward holding the start position.
                self.own_start[joint] = float(np.median(samples))
                self._provisional.add(joint)

    def _held(self, t: float, angles: dict, seen: dict | None) -> list:
        values = []
        for joint in self.joints:
            if angles.get(joint) is not None:
                self._last_seen[joint] = (t, angles[joint], 1.0 if seen is None else seen.get(joint, 1.0))
            last = self._last_seen.get(joint)
            values.append(last[1:] if last is not None and t - last[0] <= self.hold_s else None)
        return values

    def _progress(self, joint: str, angle: float) -> tuple[float, float] | None:
        """(progress, exit level) of one joint: progress 1 at the routine's turned threshold."""
        own = self.own_start.get(joint)
        if own is None:
            return None
        exit_deg, turned_deg = self.excursion(joint)
        if turned_deg <= 0:
            return None
        return self._sign() * (own - angle) / turned_deg, exit_deg / turned_deg

    def _in_the_routines_start(self, held: list, decide: list[int]) -> bool:
        """Whether the joints deciding are in the routine's own start zone, by the instructor's start
        angle (the rule's start threshold as the routine gives it): then the start is known without
        holding it for settle_s. Settling guards against taking a pose in mid-movement as the start
        when only the person's own first angles say where it is; the instructor's start angle says
        it of the first frames seen (after a cut the model read a leg for 2 frames, down, before its
        first lift: settling lost that lift). Only with a reference for every deciding joint."""
        if not self.reference or not decide:
            return False
        for i in decide:
            joint = self.joints[i]
            if joint not in self.reference:
                return False
            if self._sign() * (self.reference[joint] - held[i][0]) >= self.excursion(joint)[0]:
                return False
        return True

    def _stays_in_the_routines_start(self, t: float, held: list, decide: list[int]) -> bool:
        """Whether the deciding joints have stayed in the routine's own start zone (the instructor's
        start angle's, _in_the_routines_start), each within stay_deg, for stay_s: a start position held,
        though not the one the person's own start angle was learned at."""
        if not self._in_the_routines_start(held, decide):
            self._stay = {}
            return False
        done = True
        for i in decide:
            joint, angle = self.joints[i], held[i][0]
            since, lo, hi = self._stay.get(joint, (t, angle, angle))
            lo, hi = min(lo, angle), max(hi, angle)
            if hi - lo > self.stay_deg:
                since, lo, hi = t, angle, angle
            self._stay[joint] = (since, lo, hi)
            done = done and t - since >= self.stay_s
        return done

    def update(self, t: float, angles: dict, seen: dict | None, legs: tuple = (None, None, None, None, None),
               from_down: dict | None = None) -> None:
        from_down = from_down or {}
        held = self._held(t, angles, seen)
        self._arms_seen.update({j: (t, a) for j, a in self._well(angles, seen, self.arms).items()})
        decide = [i for i, joint in enumerate(self.joints) if angles.get(joint) is not None
                  and (1.0 if seen is None else seen.get(joint, 1.0)) >= self.seen_well]
        if not decide:
            if any(h is None for h in held):  # nothing seen well and some not at all: no data
                return
            decide = list(range(len(held)))
        self._learn_start(t, [None if h is None else h[0] for h in held])
        moved = [self._progress(self.joints[i], held[i][0]) for i in decide]
        if any(m is None for m in moved):
            return
        # Every joint must move: the depth is their mean once the least moved has gone half the
        # floor (a model reads the far knee of a side view shallower), else the least moved's (one
        # swinging limb is no repetition). All must be back (the most moved decides the return).
        least = min(p for p, _ in moved)
        depth = float(np.mean([p for p, _ in moved])) if least >= self.floor / 2 else least
        at_start = all(p < exit_level for p, exit_level in moved)
        if self.state == "settling":
            if at_start:
                self._start_since = t if self._start_since is None else self._start_since
                if t - self._start_since >= self.settle_s or self._in_the_routines_start(held, decide):
                    self.state = "start"
            else:
                self._start_since = None
        elif self.state == "start" and not at_start:
            self.state, self._peak, self._first_out = "out", depth, depth
            self._rep_base, self._at_peak = dict(self._base), self._changes(angles, seen, self._base)
            self._along_at_peak = self._along(angles, seen, self._base)
            self._rep_legs, self._legs_at_peak = self._legs_base, legs
            self._across = [x for x in (self._legs_base[3], legs[3]) if x is not None]
            self._apart = sorted(x for x in (self._legs_base[4], legs[4]) if x is not None)
            self._g_rep, self._g_at_peak = dict(self._g_base), dict(from_down)
            self._read = {j for j in self.joints if angles.get(j) is not None}
            self._arms_at_peak = self._arms_held(t)
        elif self.state == "out":
            self._read.update(j for j in self.joints if angles.get(j) is not None)
            if legs[3] is not None:
                self._across = [min(self._across + [legs[3]]), max(self._across + [legs[3]])]
            if legs[4] is not None:
                self._apart = [min(self._apart + [legs[4]]), max(self._apart + [legs[4]])]
            if depth > self._peak:
                self._peak, self._at_peak = depth, self._changes(angles, seen, self._rep_base)
                self._along_at_peak = self._along(angles, seen, self._rep_base)
                self._legs_at_peak = legs
                self._g_at_peak = dict(from_down)
                self._arms_at_peak = self._arms_held(t)
            if at_start:
                self._finish(t)
            elif self._stays_in_the_routines_start(t, held, decide) and self._peak >= self.enter_level():
                self._finish(t)
                for i in decide:
                    since, lo, hi = self._stay[self.joints[i]]
                    self.own_start[self.joints[i]] = (lo + hi) / 2
                    self._provisional.discard(self.joints[i])
                self._recent.clear()
                self._stay, at_start = {}, True
                self.restarted += 1
        if self.state != "out":
            self._stay = {}
        if at_start:
            self._last_at_start = t
            self._base = {j: a for j, a in self._well(angles, seen, self.still + self.other_side + self._along_joints()).items()}
            self._legs_base = legs if legs[0] is not None else self._legs_base
            self._g_base.update(from_down)

    def cut(self) -> None:
        """The person was out of sight (RepCounter.cut_s): what they did meanwhile was not seen. A
        repetition under way is dropped, not counted, and one that began unseen is not timed from
        before (the loop of a video joined its end, the jumper's arm swung for his flip, to his next
        play's start, and that excursion counted a jack in no play)."""
        if self.state == "out":
            self.state, self._peak = "start", 0.0
        self._last_at_start = None

    def _well(self, angles: dict, seen: dict | None, joints: tuple) -> dict:
        return {j: angles[j] for j in joints if angles.get(j) is not None
                and (1.0 if seen is None else seen.get(j, 1.0)) >= self.seen_well}

    def _changes(self, angles: dict, seen: dict | None, base: dict) -> dict:
        """How far each held-still joint seen well now and at the start has moved since the start:
        any way for a still joint, the counted way for the other side's (its own repetition going
        back while this one comes up is alternating, not the same movement)."""
        now = self._well(angles, seen, self.still + self.other_side)
        out = {j: abs(now[j] - base[j]) for j in self.still if j in now and j in base}
        # The other side from its own start (it may have left just before this one did).
        rest = {j: c.own_start[j] for c in self.siblings for j in c.joints if j in c.own_start}
        out.update({j: self._sign() * (rest[j] - now[j]) for j in self.other_side if j in now and j in rest})
        return out

    def _along_joints(self) -> tuple:
        return (self.joints + tuple(self.moves_with) + self.moves_other) if self.moves_with or self.moves_other else ()

    def _along(self, angles: dict, seen: dict | None, base: dict) -> dict:
        """The counted joints' and the moves_with joints' change the counted way since the start
        (seen well then and now), degrees: both from the same frame, so the share compares like with like."""
        joints = self._along_joints()
        now = self._well(angles, seen, joints)
        return {j: self._sign() * (base[j] - now[j]) for j in joints if j in now and j in base}

    def _not_moved_with(self) -> bool:
        """Whether the joints this movement moves along with the counted ones (RepRule.moves_with) did
        not: at the deepest moment, this side's moved less than `still_share` of the degrees the routine's
        keyframes give them per degree the counted joints moved, or (one side at a time) the other
        side's moved the counted way `still_share` as many degrees as the counted joints. Judged on what
        is seen well at the start and then; relative to this repetition's own movement."""
        change = self._along_at_peak
        counted = [change[j] for j in self.joints if j in change]
        if not counted or float(np.mean(counted)) <= 0:
            return False
        moved = float(np.mean(counted))
        mine = [(change[j], share) for j, share in self.moves_with.items() if share > 0 and j in change]
        if mine and float(np.mean([c for c, _ in mine])) < self.still_share * moved * float(np.mean([s for _, s in mine])):
            return True
        other = [change[j] for j in self.moves_other if j in change]
        return bool(other) and max(other) >= self.still_share * moved

    def _unread(self) -> bool:
        """Whether a counted joint of a rule whose joints all move together (sides "both": both arms,
        both elbows, both knees) was read on no picture of this excursion: the others alone decided it
        (a far arm hidden behind the body when the person stands side on)."""
        return self.rule.sides == "both" and not set(self.joints) <= self._read

    def _another_movement(self) -> bool:
        """Whether a joint the movement holds still moved, at the repetition's deepest moment, half as
        many degrees as the counted joints had (relative to this very repetition, not a constant)."""
        moved = self._moved()
        return moved > 0 and any(change >= self.still_share * moved for change in self._at_peak.values())

    def _moved(self) -> float:
        """Degrees the counted joints moved at the repetition's deepest moment, at most the routine's
        target (a model's reading past the target, e.g. a foreshortened elbow read at 0 deg, does
        not license other joints to move as much)."""
        target = self.excursion(self.joints[0])[1]
        return min(self._peak, 1.0) * target

    def _did_not_lift(self) -> bool:
        """Whether the counted limb, measured from straight down (gravity) rather than from the body,
        moved less than half as many degrees as its angle to the body did, or less than the floor
        of the routine's excursion (which the angle must reach too): a trunk leaning or bending (a
        squat's, a dance's) changes the arm's or the thigh's angle to the trunk without lifting the
        limb; a knee bending over a standing shin (a squat) is not a shin lifted.
        Only for limbs seen at the start and at the deepest moment."""
        if not self.against_gravity:
            return False
        lifts = [abs(self._g_at_peak[j] - self._g_rep[j]) for j in self.joints if j in self._g_rep and j in self._g_at_peak]
        # With a limb of the rule's unread all along (`_unread`), the limb seen is all there is: it must
        # have lifted nearly as far as its angle to the body moved (ONE_LIMB_SHARE; the trunk still, the
        # two are one), not half. The jumper of two_people_sports2d turned side on before his flip swings his near arm
        # from 48 to 127 deg off straight down while its angle to a trunk leaning back moved past the
        # target (BlazePose at 15 readings a second: a third jack); one arm's jacks side on, the far
        # arm as hidden (dev/jumping_jacks_3views_studio), lift it 127-146 deg for the target's 115.
        share = ONE_LIMB_SHARE if self._unread() else self.still_share
        # The floor holds for the lift itself too: a dance step lifting a thigh 15 deg while the hip
        # angle reads 28 is not a march's knee lift.
        if lifts and float(np.mean(lifts)) < max(share * self._moved(), self.floor * self.excursion(self.joints[0])[1]):
            return True
        # One side at a time: the other side's limb lifting as well, at the same moment, is both (a
        # squat seen from where one hip's angle is hidden still shows both thighs coming up).
        mine = [self._g_at_peak[j] - self._g_rep[j] for j in self.joints if j in self._g_rep and j in self._g_at_peak]
        other = [self._g_at_peak[j] - self._g_rep[j] for j in self.other_side if j in self._g_rep and j in self._g_at_peak]
        return bool(mine and other) and float(np.mean(mine)) > 0 and max(other) >= self.still_share * float(np.mean(mine))

    def _another_position(self) -> bool:
        """Whether the person's own start is another body position than the routine's: further from
        the instructor's start angle than `position_span` (standing and seated differ by 80-90 deg at
        the hip and the knee; a stiff senior's start by 20-30). A seated march's 15 deg from a
        standing start is a sway, not a march."""
        if not self.reference:
            return False
        return any(abs(self.own_start[j] - self.reference[j]) > self.position_span
                   for j in self.joints if j in self.reference and j in self.own_start)

    def _foot_lifted_instead(self) -> bool:
        """For a movement done with both feet on the floor (a squat, a chair stand), whether this
        repetition was a knee lifted instead (a march, a kick bends the knee as far). A foot is
        lifted when, at the deepest moment, it is higher in the picture than the other by
        `foot_lifted` of the hips' standing height over the floor, or hidden (the far one from the
        side). Either way it was a knee lift only if the hips did not go down (up) over the lower
        foot by half what the knees' bend implies for a squat, 1 - cos(bend / 2) of their standing
        height (thigh and shin of equal length; a shin leaning forward lowers them more): a knee
        lift's standing leg keeps them up. A foot read lifted is not enough alone: a model that
        guesses a hidden leg (BlazePose, one leg behind a neighbour's picture) put its ankle half the
        hips' height above the seen one at each squat's bottom while the hips came down 0.41-0.62 of
        it. Without the hips: a foot read lifted is a knee lift, a hidden one is not judged."""
        if not self.feet_planted:
            return False
        standing, (now, gap) = self._rep_legs[0], self._legs_at_peak[:2]
        if standing is None or standing <= 0:
            return False
        if gap is not None and gap / standing < self.foot_lifted:
            return False
        if now is None:
            return gap is not None
        went = self._sign() * (standing - now) / max(standing, now)
        bend = self._peak * self.excursion(self.joints[0])[1]
        return went < 0.5 * (1 - np.cos(np.radians(bend) / 2))

    def _hips_came_down(self) -> bool:
        """For a movement whose hips stay at their standing height (a march: the standing leg stays
        straight while the other knee lifts), whether the hips came down, from the last frame at the
        start to the deepest moment, by `hips_down` of their standing height over the floor or more:
        the standing leg bent too, a squat (a squat seen with its other knee misread straight or
        hidden). The hips' own height in the picture, not over the feet (a model misreads the
        standing ankle as the other foot lifts: MoveNet on the high knees read it 0.35 of the leg
        too high), over this repetition's own standing height; not judged without the hips and a
        foot. Measured (tests/test_counting_real.py): the real high knees' hips come down at most
        0.18 of it (a jog's bounce, both models), the goblet squats' 0.62 (MoveNet reading the
        other knee straight).
        """
        if not self.hips_stay_up:
            return False
        standing, before, now = self._rep_legs[0], self._rep_legs[2], self._legs_at_peak[2]
        if standing is None or before is None or now is None or standing <= 0:
            return False
        self.last_hips = round((now - before) / standing, 3)
        return (now - before) / standing >= self.hips_down  # y down: the hips lower in the picture

    def _walked(self) -> bool:
        """For a movement done in place (a squat, a chair stand), whether the hips travelled across the
        picture, over this repetition (from its last frame at the start to its return), by `travel`
        of their standing height over the floor (the higher of the start's and the deepest moment's:
        a chair stand starts seated) or more: steps taken, walking, or the model following another
        person. Sitting back moves the hips about a thigh's length at most. Measured
        (tests/test_counting_real.py): the real squats' and chair stands' hips 0.02-0.51 of it, the
        walker of two_people_sports2d counted as chair stands by MoveNet 1.1-2.3, a switch to her
        from the jumper (BlazePose) 6."""
        if not self.in_place or len(self._across) < 2:
            return False
        standing = self._standing_height()
        if standing is None:
            return False
        travel = (self._across[1] - self._across[0]) / standing
        self.last_travel = round(travel, 2)
        return travel >= self.travel

    def _standing_height(self) -> float | None:
        """The hips' standing height over the floor for this repetition (the higher of the start's and
        the deepest moment's: a chair stand starts seated), the unit `_walked` and `_feet_moved` measure
        in; None when neither was seen."""
        standing = max((h for h in (self._rep_legs[0], self._legs_at_peak[0]) if h is not None), default=None)
        return standing if standing is not None and standing > 0 else None

    def _feet_moved(self) -> bool:
        """For a movement done with the feet where they stand (a squat, a chair stand: RepRule.in_place),
        whether the feet moved apart or together across the picture, over this repetition, by `feet_stay`
        of the hips' standing height over the floor (as `_walked` measures it) or more: a jumping jack
        spreads and closes them, a step moves one. A squat's stance stays as it was. Across the picture
        only, so a knee lifted (feet_planted) is not counted twice. Measured (tests/test_counting_real.py,
        both models, native and 15 fps): the real squats' and chair stands' ankles 0.01-0.34 of it, the
        jumper of two_people_sports2d counted as chair stands by BlazePose 0.80-0.96. From the side a
        jack spreads the feet along the line of sight: MoveNet's side-view jacks read 0.02-0.05."""
        if not self.in_place or len(self._apart) < 2:
            return False
        standing = self._standing_height()
        if standing is None:
            return False
        apart = (self._apart[1] - self._apart[0]) / standing
        self.last_apart = round(apart, 2)
        return apart >= self.feet_stay

    def _finish(self, t: float) -> None:
        self.state = "start"
        took = t - (self._last_at_start if self._last_at_start is not None else t)
        self.excursions.append((round(t, 2), round(self._peak, 2), round(took, 2)))
        if self.judge_way_out and self.count == 0 and self._peak > 0 and self._first_out >= self.at_once * self._peak:
            # Left the start and was at its turning point on the same frame: the way out was not seen,
            # half a repetition (a video cut from one movement's end pose to the top of the next's).
            self.way_out_unseen += 1
            self.rejected += 1
            return
        # The checks of what the repetition was, in order: the first that fails is tallied (under
        # its own name, as the tests and docs/scoring.md read them) and the repetition rejected.
        for failed, tally in ((self._another_position, "another_position"),
                              (self._another_movement, "another_movement"),
                              (self._not_moved_with, "not_along"),
                              (self._foot_lifted_instead, "another_foot"),
                              (self._did_not_lift, "another_lift"),
                              (self._hips_came_down, "hips_came_down"),
                              (self._walked, "walked"),
                              (self._feet_moved, "feet_moved")):
            if failed():
                setattr(self, tally, getattr(self, tally) + 1)
                self.rejected += 1
                if self.rule.repeats and self.count == 0 and self.waiting is not None and self._peak >= self.floor:
                    # Again and again means one after the other: another movement (as deep as the floor)
                    # between a first repetition and a second like it leaves the first a lone one (the
                    # side-view jacks' landings as squats: 2 alike 4 s apart, knee dips without the hips between).
                    self.waiting, self.unconfirmed = None, self.unconfirmed + 1
                return
        if self._peak >= self.floor:
            self._clear.append(self._peak)
        if self._peak >= self.enter_level() and took >= self.rule.min_rep_s:
            self._counted(self._peak, took, t - took / 2)
        elif (self.rule.repeats and self.count == 0 and not self._clear and took >= self.rule.min_rep_s
              and self._peak >= self._start_band()):
            # Before any clear repetition there is no own range to judge a shallow one by: it waits (as
            # a first repetition waits for a second like it) and is judged by the first clear one.
            self.unconfirmed += self.waiting is not None
            self.waiting, self.waiting_shallow = (self._peak, took, t - took / 2), True
            self.waiting_arms = dict(self._arms_at_peak)
            self.short_of_level += 1
        else:
            self.rejected += 1
            self.short_of_level += took >= self.rule.min_rep_s and self._peak >= self._start_band()

    def _counted(self, depth: float, took: float, middle: float) -> None:
        """A repetition that passed every check. With the rule's `repeats`, the counter's first one
        waits for a second like it (as deep and as long within `alike`), then both count; one unlike
        it takes its place and waits in turn."""
        if self.rule.repeats and self.count == 0:
            first, self.waiting = self.waiting, (depth, took, middle)
            shallow, self.waiting_shallow = self.waiting_shallow, False
            first_arms, self.waiting_arms = self.waiting_arms, dict(self._arms_at_peak)
            elsewhere = first is not None and self._arms_elsewhere(first_arms, first[0], depth)
            self.arms_elsewhere += elsewhere
            if (first is None or (shallow and first[0] < self.own_level()) or elsewhere
                    or not all(max(a, b) <= self.alike * min(a, b) for a, b in zip(first[:2], (depth, took)))):
                self.unconfirmed += first is not None
                return
            self.waiting = None
            self._count_one(*first)
        self._count_one(depth, took, middle)

    def _arms_held(self, t: float) -> dict:
        """The arm joints' angles now: each as last read seen well, at most hold_s ago."""
        return {j: a for j, (since, a) in self._arms_seen.items() if t - since <= self.hold_s}

    def _arms_elsewhere(self, first: dict, first_depth: float, depth: float) -> bool:
        """Whether a leg movement's second repetition put the arms elsewhere than its first did, at
        the turning point: the shoulders' angle (the mean of the sides read at both, so a 2D model
        swapping left and right side on changes nothing) apart by more degrees than the larger of the
        two moved the counted joints (each at most the routine's target). The same movement done again
        puts the whole body where it was; a jumping jack's landings alternate, arms overhead with the
        feet apart, arms down with them together, and from the side its knee dips pass for shallow
        squats. Measured (tests/test_counting_real.py, MoveNet, native and 15 fps): the shoulders of
        one real squat's and the next's turning points 0-22 deg apart (squats_5reps' first two the
        most), of the real high knees' lifts 0-14; the side-view jacks' consecutive landings 169 deg,
        their counted dips moved the knees 32 deg."""
        both = [j for j in first if j in self._arms_at_peak]
        if not both:
            return False
        target = self.excursion(self.joints[0])[1]
        apart = abs(float(np.mean([first[j] for j in both])) - float(np.mean([self._arms_at_peak[j] for j in both])))
        self.last_arms_apart = round(apart, 1)
        return apart > max(min(first_depth, 1.0), min(depth, 1.0)) * target

    def _count_one(self, depth: float, took: float, middle: float) -> None:
        self.count += 1
        self.durations.append(took)
        self.depths.append(depth)
        self.middles.append(middle)


@dataclass
class RepCounter:
    rule: RepRule
    # The instructor's start angle per joint (the routine's keyframes); None: the rule's fixed
    # thresholds, measured from the participant's own start.
    reference: dict[str, float] | None = None
    settle_s: float = 0.1  # a fast march holds each leg down only ~0.2 s (3 frames at 15 fps)
    hold_s: float = 0.3
    seen_well: float = 0.4  # a joint's visibility (lowest score of its points) from which it decides
    start_window_s: float = 0.5  # the participant's start angle: medians over this long
    floor: float = 0.6  # the least progress that counts: 0.6 of the routine's excursion
    own_share: float = 0.5  # of the median depth of their recent repetitions: the middle of their own range
    recent_depths: int = 5
    floor_window_s: float = 1.0  # the floor: the lowest a foot was seen over this long
    counters: dict = field(default_factory=dict)  # "both" | "left" | "right" -> _Counter
    _feet: deque = field(default_factory=deque)
    # Nobody in the picture (no pose given) for longer than this: a looping video's seam, a class
    # member lost and found again, is a cut: no repetition spans it (issue 44). Longer than a frame
    # or two the model misses (hold_s) or a loaded service's slowest reading.
    cut_s: float = 1.0
    _seen_t: float | None = None

    def __post_init__(self):
        groups = {"both": tuple(self.rule.joints)}
        if self.rule.sides != "both":
            groups = {side: tuple(j for j in self.rule.joints if j.startswith(side + "_")) for side in SIDES}
            groups = {side: joints for side, joints in groups.items() if joints}
        still = tuple(getattr(self.rule, "still", ()))
        self.counters = {name: _Counter(joints, self.rule, self.reference, self.settle_s, self.hold_s,
                                        self.seen_well, self.start_window_s, self.floor, self.own_share,
                                        self.recent_depths, still,
                                        tuple(j for other, js in groups.items() if other != name for j in js))
                         for name, joints in groups.items()}
        for counter in self.counters.values():
            counter.siblings = [c for c in self.counters.values() if c is not counter]
            counter.feet_planted = self.rule_feet_planted
            counter.hips_stay_up = bool(getattr(self.rule, "hips_stay_up", False))
            counter.in_place = bool(getattr(self.rule, "in_place", False))
            counter.against_gravity = bool(getattr(self.rule, "against_gravity", False))
            if all(j.endswith(LEG_JOINTS) for j in self.rule.joints):
                counter.arms = ("left_shoulder", "right_shoulder")
            share = dict(getattr(self.rule, "moves_with_share", ()))
            if self.rule.sides == "both":
                counter.moves_with = {j: share.get(j, 0.0) for j in getattr(self.rule, "moves_with", ())}
            else:
                side = counter.joints[0].split("_")[0] + "_"
                # One side at a time, only the other side is checked (held still): how far the lifted
                # side's knee bends with the hip is the person's style (a straight-leg march is one), and a
                # part built from a video asked it at the instructor's own ratio lost 2 of 18 real lifts.
                counter.moves_with = {}
                counter.moves_other = tuple(j for j in self.rule.moves_with
                                            if j.startswith(("left_", "right_")) and not j.startswith(side))

    def update(self, t: float, angles: dict[str, float | None], seen: dict[str, float] | None = None,
               pose: np.ndarray | None = None, world: np.ndarray | None = None) -> int:
        """`seen`: each joint's visibility (geometry.joint_visibility); None: every joint seen well.
        `pose`: the picture's keypoints (common skeleton), for a rule whose movement moves the hips."""
        legs = (self._legs(t, pose) if self.rule_feet_planted or getattr(self.rule, "hips_stay_up", False)
                or getattr(self.rule, "in_place", False) else (None, None, None, None, None))
        down = from_down(pose, world, self.rule.joints) if getattr(self.rule, "against_gravity", False) else None
        if pose is not None and len(pose):
            if self._seen_t is not None and t - self._seen_t > self.cut_s:
                self._feet.clear()
                for counter in self.counters.values():
                    counter.cut()
            self._seen_t = t
        for counter in self.counters.values():
            counter.update(t, angles, seen, legs, down)
        return self.count

    def _legs(self, t: float, pose: np.ndarray | None) -> tuple:
        """(how high the hips are above the floor, how far apart the feet are in height, the hips' y and x,
        how far apart the feet are across the picture),
        pixels in the picture: the floor is the lower foot when both are seen, else the lowest a foot was seen
        over the last `floor_window_s` (the one foot seen may be the lifted one). Compared only
        within one repetition, as shares of the standing height: the person's size and distance
        cancel; from the front or the side, for a 2D model too."""
        hip, feet = hips_and_feet(pose)
        if feet:
            self._feet.append((t, max(feet)))
        while self._feet and t - self._feet[0][0] > self.floor_window_s:
            self._feet.popleft()
        gap = abs(feet[0] - feet[1]) if len(feet) == 2 else None
        across = float(pose[COMMON_INDEX["mid_hip"]][0]) if hip is not None else None
        apart = (abs(float(pose[COMMON_INDEX["left_ankle"]][0]) - float(pose[COMMON_INDEX["right_ankle"]][0]))
                 if len(feet) == 2 else None)
        if hip is None or not self._feet:
            return None, gap, hip, across, apart
        return (max(feet) if len(feet) == 2 else max(f for _, f in self._feet)) - hip, gap, hip, across, apart

    @property
    def rule_feet_planted(self) -> bool:
        return bool(getattr(self.rule, "feet_planted", False))

    @property
    def count(self) -> int:
        return sum(c.count for c in self.counters.values())

    @count.setter
    def count(self, value: int) -> None:
        """A restored session's count (a checkpoint keeps the total): kept on the first counter."""
        first, *rest = self.counters.values()
        first.count = value - sum(c.count for c in rest)

    @property
    def rejected(self) -> int:
        return sum(c.rejected for c in self.counters.values())

    @property
    def durations(self) -> list:
        return [d for c in self.counters.values() for d in c.durations]

    @property
    def state(self) -> str:
        return next(iter(self.counters.values())).state

    @property
    def own_start(self) -> dict:
        out = {}
        for c in self.counters.values():
            out.update(c.own_start)
        return out

    def thresholds(self, joint: str) -> tuple[float, float]:
        for c in self.counters.values():
            if joint in c.joints:
                return c.thresholds(joint)
        return self.rule.low, self.rule.high

    def restore(self, total: int, by_side: dict[str, int] | None = None) -> None:
        """A restarted session's counts (a checkpoint's): per side where it kept them."""
        if by_side and set(by_side) == set(self.counters):
            for side, n in by_side.items():
                self.counters[side].count = int(n)
        else:
            self.count = total

    def by_side(self) -> dict[str, int]:
        """Repetitions per side for a one-sided or alternating routine ({} when both move together)."""
        return {} if self.rule.sides == "both" else {side: c.count for side, c in self.counters.items()}

    def depth(self) -> dict | None:
        """How deep the counted repetitions went against the routine's target: the median share of
        the routine's excursion (1.0 = the target; below: shallower), and in degrees from the
        person's own start, with the target's degrees. None before the first repetition."""
        depths = [d for c in self.counters.values() for d in c.depths]
        if not depths:
            return None
        share = float(np.median(depths))
        joint = next(iter(self.counters.values())).joints[0]
        counter = next(c for c in self.counters.values() if joint in c.joints)
        target = counter.excursion(joint)[1]
        return {"share": round(share, 2), "degrees": round(share * target, 1), "target_degrees": round(target, 1)}
