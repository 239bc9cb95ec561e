"""Fall detection from the common skeleton, tuned against the false alarms elderly-monitoring
users report (squatting, bending to tie a shoe, sitting down on a chair, standing up).

It fires on either
- a fall: within `drop_window_s` the hips drop by more than `drop_fraction` of the person's
  standing height AND the trunk ends up near horizontal (lean > `horizontal_deg`) with the hips
  down near ankle level; or
- lying: trunk near horizontal with the hips at ankle level for `lying_s` seconds.
A squat or sitting down drops the hips but keeps the trunk upright; bending over to a shoe turns
the trunk but the hips stay high above the ankles. Neither satisfies both conditions.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from common.coach.geometry import MIN_SCORE, trunk_lean
from common.coach.keypoints import COMMON_INDEX

_HIP, _NECK = COMMON_INDEX["mid_hip"], COMMON_INDEX["neck"]
_ANKLES = [COMMON_INDEX["left_ankle"], COMMON_INDEX["right_ankle"]]


@dataclass
class FallDetector:
    drop_window_s: float = 1.0
    drop_fraction: float = 0.35
    horizontal_deg: float = 60.0
    lying_s: float = 3.0
    refractory_s: float = 30.0
    _history: deque = field(default_factory=lambda: deque(maxlen=300))
    _height: float = 0.0  # standing height estimate (ankle to neck, px), a running max
    _lying_since: float | None = None
    _last_alert: float = -1e9

    def update(self, t: float, common: np.ndarray) -> str | None:
        """Returns "fall" or "lying" when an alert should fire, else None."""
        hip, neck = common[_HIP], common[_NECK]
        if min(hip[2], neck[2]) < MIN_SCORE:
            return None
        lean = trunk_lean(hip, neck)
        ankles = [common[i] for i in _ANKLES if common[i][2] >= MIN_SCORE]
        if ankles:
            ankle_y = max(a[1] for a in ankles)
            if lean is not None and lean < 20:
                self._height = max(self._height * 0.995, ankle_y - neck[1])
        else:
            ankle_y = None
        trunk = float(np.hypot(*(neck[:2] - hip[:2])))
        height = self._height or 3.0 * trunk
        self._history.append((t, hip[1]))
        while self._history and t - self._history[0][0] > self.drop_window_s:
            self._history.popleft()
        horizontal = lean is not None and lean > self.horizontal_deg
        # Hips down at floor level: within a third of the trunk length of the lowest ankle, or
        # (ankles hidden) well below the standing hip line.
        hips_low = (ankle_y - hip[1] < 0.5 * trunk) if ankle_y is not None else False
        if t - self._last_alert < self.refractory_s:
            return None
        drop = hip[1] - min(y for _, y in self._history)
        if horizontal and hips_low and drop > self.drop_fraction * height:
            self._last_alert = t
            return "fall"
        if horizontal and hips_low:
            self._lying_since = t if self._lying_since is None else self._lying_since
            if t - self._lying_since >= self.lying_s:
                self._last_alert = t
                self._lying_since = None
                return "lying"
        else:
            self._lying_since = None
        return None
