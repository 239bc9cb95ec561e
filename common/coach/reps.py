"""Repetition counting with hysteresis, guarding against the miscounts rep-counter users report.

- Nothing counts until the participant has held the start position for `settle_s`
  (getting into position is not a repetition).
- A repetition = leave the start position, reach the turned position, come back to the start.
  Two thresholds (low < high) give hysteresis, so jitter around one of them counts nothing.
- The thresholds follow the participant's own start position. A routine's `low`/`high` are
  written for its instructor, whose start angle (`reference`) the routine's keyframes give; each
  threshold keeps its distance from that start, measured from the participant's own start angle
  instead: the highest (or, starting low, the lowest) median over half a second seen so far. A senior
  who stands with knees at 150 deg, or a model that reads a straight knee as 165 deg, then needs
  the same 50 deg bend as the instructor, not a straighter knee than they have.
- Every joint listed must cross, so one free-swinging limb is not a repetition; but a joint the
  model reads with low visibility (the far leg behind the near one in a side view, a knee behind
  a table) or not at all (out of the picture) counts less than one it sees: while at least one
  listed joint is seen well, only the joints seen well decide, and a hidden one's guessed angle
  cannot hold a repetition back. With none seen well, all must be there and cross.
- A repetition shorter than `min_rep_s` is rejected (a twitch, a dropped arm); it is timed from
  the last frame seen at the start, so frames without the joints do not shorten it.
- A joint the model misses for a frame or two keeps its last angle for `hold_s` (a 2D model
  drops a knee at the bottom of a squat seen from the front on one frame in four); a frame
  where any listed joint has had no data for longer does not move the state.
- The start position needs holding for `settle_s` only: in a real session the countdown gives
  seconds of it, and a clip that starts straight into its squats gives the top of each one,
  about 0.3 s at a brisk pace.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from common.coach.routine import RepRule


@dataclass
class RepCounter:
    rule: RepRule
    # The instructor's start angle per joint (the routine's keyframes); None: the rule's fixed
    # thresholds, whatever the participant's own start.
    reference: dict[str, float] | None = None
    settle_s: float = 0.3
    hold_s: float = 0.3
    seen_well: float = 0.4  # a joint's visibility (lowest score of its points) from which it decides
    start_window_s: float = 0.5  # the participant's start angle: medians over this long
    count: int = 0
    rejected: int = 0
    state: str = "settling"  # settling -> start -> turned -> start ...
    own_start: dict = field(default_factory=dict)  # the participant's start angle per joint
    _start_since: float | None = None
    _last_at_start: float | None = None
    _recent: deque = field(default_factory=deque)  # (t, values) over the last start_window_s
    _last_seen: dict = field(default_factory=dict)  # joint -> (t, angle, visibility) of its last observation
    durations: list = field(default_factory=list)

    def thresholds(self, joint: str) -> tuple[float, float]:
        """(low, high) for this joint, moved with the participant's own start angle."""
        low, high = self.rule.low, self.rule.high
        if self.reference and joint in self.reference and joint in self.own_start:
            shift = self.own_start[joint] - self.reference[joint]
            low, high = low + shift, high + shift
        return low, high

    def _at_start(self, values: list[float], limits: list[tuple[float, float]]) -> bool:
        if self.rule.start == "high":
            return all(a > high for a, (low, high) in zip(values, limits))
        return all(a < low for a, (low, high) in zip(values, limits))

    def _turned(self, values: list[float], limits: list[tuple[float, float]]) -> bool:
        if self.rule.start == "high":
            return all(a < low for a, (low, high) in zip(values, limits))
        return all(a > high for a, (low, high) in zip(values, limits))

    def _learn_start(self, t: float, values: list[float | None]) -> None:
        """Update the participant's start angles from the medians over the last start_window_s
        (until three frames of a joint are in, the rule's own thresholds stand for it)."""
        self._recent.append((t, values))
        while self._recent and t - self._recent[0][0] > self.start_window_s:
            self._recent.popleft()
        pick = max if self.rule.start == "high" else min
        for k, joint in enumerate(self.rule.joints):
            samples = [v[k] for _, v in self._recent if v[k] is not None]
            if len(samples) >= 3:
                median = float(np.median(samples))
                self.own_start[joint] = float(pick(self.own_start.get(joint, median), median))

    def _held(self, t: float, angles: dict[str, float | None], seen: dict[str, float] | None) -> list:
        """Each joint's (angle, visibility) now, or its last one if seen within hold_s."""
        values = []
        for joint in self.rule.joints:
            if angles.get(joint) is not None:
                self._last_seen[joint] = (t, angles[joint], 1.0 if seen is None else seen.get(joint, 1.0))
            last = self._last_seen.get(joint)
            values.append(last[1:] if last is not None and t - last[0] <= self.hold_s else None)
        return values

    def update(self, t: float, angles: dict[str, float | None], seen: dict[str, float] | None = None) -> int:
        """`seen`: each joint's visibility (geometry.joint_visibility); None: every joint seen well."""
        held = self._held(t, angles, seen)
        available = [i for i, h in enumerate(held) if h is not None]
        # Seen well on this very frame: a held angle stands in for a missed frame, not for a joint
        # that has left the picture while the other one moves on.
        decide = [i for i, joint in enumerate(self.rule.joints) if angles.get(joint) is not None
                  and (1.0 if seen is None else seen.get(joint, 1.0)) >= self.seen_well]
        if not decide:
            if len(available) < len(held):  # nothing seen well and some not at all: no data
                return self.count
            decide = available
        self._learn_start(t, [None if h is None else h[0] for h in held])
        values = [held[i][0] for i in decide]
        limits = [self.thresholds(self.rule.joints[i]) for i in decide]
        at_start, turned = self._at_start(values, limits), self._turned(values, limits)
        if self.state == "settling":
            if at_start:
                self._start_since = t if self._start_since is None else self._start_since
                if t - self._start_since >= self.settle_s:
                    self.state = "start"
            else:
                self._start_since = None
        elif self.state == "start" and turned:
            self.state = "turned"
        elif self.state == "turned" and at_start:
            took = t - (self._last_at_start if self._last_at_start is not None else t)
            if took >= self.rule.min_rep_s:
                self.count += 1
                self.durations.append(took)
            else:
                self.rejected += 1
            self.state = "start"
        if at_start:
            self._last_at_start = t
        return self.count
