"""Ask before calling: after a suspected fall the TV asks "괜찮으세요? 괜찮으시면 손을 흔들어
주세요" and counts down; a wave or the remote's OK answers it, and only when nobody answers does
the carer get the alert. A clear hard fall calls at once. As a fall-detecting watch does: a
question costs the person a wave; a call that was not needed costs the carer a trip and the
senior their trust in the box.

Pure logic with injected time (seconds on any monotonic clock); the scoring service feeds it the
detector's events, the poses (for the wave), the remote's key and the clock.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from common.coach.geometry import MIN_SCORE
from common.coach.keypoints import COMMON_INDEX

_NECK, _HIP = COMMON_INDEX["neck"], COMMON_INDEX["mid_hip"]
_WRISTS = (COMMON_INDEX["left_wrist"], COMMON_INDEX["right_wrist"])

# How a question ended, and why the carer was called (the alert's `answer`).
ANSWERS = ("wave", "remote")
CALL_REASONS = ("hard_fall", "no_answer")


@dataclass
class WaveDetector:
    """A wave: a hand raised above the head (the wrist at least `raised_trunks` trunk lengths
    above the shoulders, in the picture: up is up whether one stands or lies) and moving to and
    fro (`turns` reversals of at least `turn_trunks` each way) within `window_s`, raised for
    `raised_s` of it. An arm held up still or lifted once is not a wave, nor arms raised only to
    the shoulders (a lateral raise)."""
    window_s: float = 2.0
    raised_trunks: float = 0.5
    turn_trunks: float = 0.2
    turns: int = 2
    raised_s: float = 0.3
    _seen: deque = field(default_factory=lambda: deque(maxlen=240))  # (t, wrist index, x, y, raised, unit)

    def reset(self) -> None:
        """Forget what was seen: only a wave after the question answers it."""
        self._seen.clear()

    def update(self, t: float, common: np.ndarray | None, unit: float = 0.0) -> bool:
        """One pose; `unit` is the person's upright trunk length (px) when known (a person lying
        toward the camera shows a shortened trunk). True when the last window holds a wave."""
        while self._seen and t - self._seen[0][0] > self.window_s:
            self._seen.popleft()
        if common is None or common[_NECK][2] < MIN_SCORE:
            return False
        neck = common[_NECK]
        if unit <= 0:
            if common[_HIP][2] < MIN_SCORE:
                return False
            unit = float(np.hypot(*(neck[:2] - common[_HIP][:2])))
        if unit <= 0:
            return False
        for w in _WRISTS:
            if common[w][2] >= MIN_SCORE:
                x, y = float(common[w][0]), float(common[w][1])
                self._seen.append((t, w, x, y, neck[1] - y >= self.raised_trunks * unit, unit))
        return any(self._waving(w) for w in _WRISTS)

    def _waving(self, wrist: int) -> bool:
        seen = [s for s in self._seen if s[1] == wrist]
        if len(seen) < 3:
            return False
        raised = sum(b[0] - a[0] for a, b in zip(seen, seen[1:]) if a[4] and b[4])
        if raised < self.raised_s:
            return False
        unit = seen[-1][5]
        return max(_reversals([s[2] for s in seen], self.turn_trunks * unit),
                   _reversals([s[3] for s in seen], self.turn_trunks * unit)) >= self.turns


def _reversals(values: list[float], step: float) -> int:
    """How often a coordinate turns back after moving at least `step` one way (hysteresis: the
    model's jitter is not a wave)."""
    turns, direction, extreme = 0, 0, values[0]
    for v in values[1:]:
        if direction == 0:
            if abs(v - extreme) >= step:
                direction, extreme = (1 if v > extreme else -1), v
        elif (v - extreme) * direction > 0:
            extreme = v  # still going the same way
        elif abs(v - extreme) >= step:
            turns, direction, extreme = turns + 1, -direction, v
    return turns


@dataclass(frozen=True)
class CheckAction:
    """What the service should do now: "ask" (show the question), "answered" (the person said
    they are all right: take the question away) or "call" (send the carer the alert)."""
    action: str
    t: float
    reason: str = ""  # call: one of CALL_REASONS; answered: one of ANSWERS
    asked_t: float | None = None  # when the question was put (None: called at once)
    why: str = ""  # the detector's words
    on_floor: bool = False  # call: still down when it was made


@dataclass
class FallCheck:
    """watching -> asking -> (answered -> watching) | (called -> watching). `countdown_s` is how
    long the question waits for an answer. Every question and its answer is kept in `record`
    (for the session's summary)."""
    countdown_s: float = 30.0
    state: str = "watching"
    asked_t: float | None = None
    kind: str = ""
    why: str = ""
    record: list = field(default_factory=list)

    def on_fall(self, t: float, kind: str, hard: bool, why: str) -> CheckAction | None:
        """A detector's event: ask, or call at once for a hard fall (also while asking)."""
        if hard:
            asked, self.state, self.asked_t = self.asked_t, "watching", None
            self.record.append({"kind": kind, "asked_t": asked, "answer": "", "called": "hard_fall", "t": t})
            return CheckAction("call", t, "hard_fall", asked, why, on_floor=True)
        if self.state == "asking":
            return None
        if kind == "still_down" and (not self.record or self.record[-1]["called"]):
            return None  # still down after the carer was called: they know; asked again only after an answer
        self.state, self.asked_t, self.kind, self.why = "asking", t, kind, why
        return CheckAction("ask", t, asked_t=t, why=why)

    def answer(self, t: float, how: str) -> CheckAction | None:
        """A wave or the remote's OK; nothing unless a question is open."""
        if self.state != "asking" or how not in ANSWERS:
            return None
        asked, self.state, self.asked_t = self.asked_t, "watching", None
        self.record.append({"kind": self.kind, "asked_t": asked, "answer": how, "called": "", "t": t})
        return CheckAction("answered", t, how, asked, self.why)

    def tick(self, t: float, on_floor: bool) -> CheckAction | None:
        """The clock: the question unanswered for countdown_s calls the carer."""
        if self.state != "asking" or t - self.asked_t < self.countdown_s:
            return None
        asked, self.state, self.asked_t = self.asked_t, "watching", None
        self.record.append({"kind": self.kind, "asked_t": asked, "answer": "", "called": "no_answer", "t": t})
        return CheckAction("call", t, "no_answer", asked, self.why, on_floor=on_floor)

    def remaining(self, t: float) -> float:
        """Seconds left on the question's countdown (0 when none is open)."""
        return max(0.0, self.countdown_s - (t - self.asked_t)) if self.state == "asking" else 0.0
