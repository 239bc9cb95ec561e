"""Repetition counting with hysteresis, guarding against the miscounts rep-counter users report.

- Nothing counts until the participant has held the start position for `settle_s`
  (getting into position is not a repetition).
- A repetition = leave the start position, reach the turned position, come back to the start.
  Two thresholds (low < high) give hysteresis, so jitter around one of them counts nothing.
- Every joint listed must cross, so one free-swinging limb is not a repetition.
- A repetition shorter than `min_rep_s` is rejected (a twitch, a dropped arm).
- A frame where any listed joint has no data does not move the state.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from common.coach.routine import RepRule


@dataclass
class RepCounter:
    rule: RepRule
    settle_s: float = 0.5
    count: int = 0
    rejected: int = 0
    state: str = "settling"  # settling -> start -> turned -> start ...
    _start_since: float | None = None
    _left_start_at: float | None = None
    durations: list = field(default_factory=list)

    def _at_start(self, angles: list[float]) -> bool:
        if self.rule.start == "high":
            return all(a > self.rule.high for a in angles)
        return all(a < self.rule.low for a in angles)

    def _turned(self, angles: list[float]) -> bool:
        if self.rule.start == "high":
            return all(a < self.rule.low for a in angles)
        return all(a > self.rule.high for a in angles)

    def update(self, t: float, angles: dict[str, float | None]) -> int:
        values = [angles.get(j) for j in self.rule.joints]
        if any(v is None for v in values):
            return self.count
        at_start, turned = self._at_start(values), self._turned(values)
        if self.state == "settling":
            if at_start:
                self._start_since = t if self._start_since is None else self._start_since
                if t - self._start_since >= self.settle_s:
                    self.state = "start"
            else:
                self._start_since = None
        elif self.state == "start":
            if not at_start and self._left_start_at is None:
                self._left_start_at = t
            elif at_start:
                self._left_start_at = None
            if turned:
                self.state = "turned"
                self._left_start_at = self._left_start_at if self._left_start_at is not None else t
        elif self.state == "turned" and at_start:
            took = t - (self._left_start_at or t)
            if took >= self.rule.min_rep_s:
                self.count += 1
                self.durations.append(took)
            else:
                self.rejected += 1
            self.state, self._left_start_at = "start", None
        return self.count
