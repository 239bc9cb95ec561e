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
  the enter level is `rejected`, not counted. Why not the routine's target alone: measured on
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
  position is not a repetition). A repetition shorter than `min_rep_s` is rejected (a twitch), timed
  from the last frame seen at the start, so frames without the joints do not shorten it.
- A joint the model reads with low visibility (the far leg in a side view, a knee behind a table)
  or not at all counts less than one it sees: while one listed joint of a counter is seen well,
  only those seen well decide. A joint missed for a frame or two keeps its last angle for
  `hold_s`; a frame where a joint has had no data for longer does not move the state.
- Fast movements: hysteresis, not smoothing, removes jitter, so nothing delays a turning point; at
  2 repetitions a second and 15 fps a repetition is 7 frames, enough for leave -> turn -> return.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from common.coach.routine import RepRule

SIDES = ("left", "right")


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
    count: int = 0
    rejected: int = 0
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

    def _learn_start(self, t: float, values: list[float | None]) -> None:
        self._recent.append((t, values))
        while self._recent and t - self._recent[0][0] > self.start_window_s:
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

    def update(self, t: float, angles: dict, seen: dict | None) -> None:
        held = self._held(t, angles, seen)
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
                if t - self._start_since >= self.settle_s:
                    self.state = "start"
            else:
                self._start_since = None
        elif self.state == "start" and not at_start:
            self.state, self._peak = "out", depth
        elif self.state == "out":
            self._peak = max(self._peak, depth)
            if at_start:
                self._finish(t)
        if at_start:
            self._last_at_start = t

    def _finish(self, t: float) -> None:
        self.state = "start"
        took = t - (self._last_at_start if self._last_at_start is not None else t)
        self.excursions.append((round(t, 2), round(self._peak, 2), round(took, 2)))
        if self._peak >= self.floor:
            self._clear.append(self._peak)
        if self._peak >= self.enter_level() and took >= self.rule.min_rep_s:
            self.count += 1
            self.durations.append(took)
            self.depths.append(self._peak)
        else:
            self.rejected += 1


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
    counters: dict = field(default_factory=dict)  # "both" | "left" | "right" -> _Counter

    def __post_init__(self):
        groups = {"both": tuple(self.rule.joints)}
        if self.rule.sides != "both":
            groups = {side: tuple(j for j in self.rule.joints if j.startswith(side + "_")) for side in SIDES}
            groups = {side: joints for side, joints in groups.items() if joints}
        self.counters = {name: _Counter(joints, self.rule, self.reference, self.settle_s, self.hold_s,
                                        self.seen_well, self.start_window_s, self.floor, self.own_share,
                                        self.recent_depths) for name, joints in groups.items()}

    def update(self, t: float, angles: dict[str, float | None], seen: dict[str, float] | None = None) -> int:
        """`seen`: each joint's visibility (geometry.joint_visibility); None: every joint seen well."""
        for counter in self.counters.values():
            counter.update(t, angles, seen)
        return self.count

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
