"""Fall detection from the common skeleton, for the way older people fall: they slump, slide down
a wall or a chair, sit down hard and stay there, collapse at the knees, topple forward, backward or
sideways, or drop out of the bottom of the picture.

Every measure is relative to the person's own body, never to pixels: the unit is their trunk
(neck to mid-hip) as seen while they were upright, and heights are taken against where their head
and hips were the last time they were upright (standing or seated tall). That is what published
pose-based detectors use when they work across cameras (descent of the head and hips against the
person's height, the trunk's angle, the body's vertical extent, time spent low, and leaving the
picture downward); a trained skeleton classifier (ST-GCN and kin on Le2i / UR Fall) would need
licensed training data and frames the Pi does not have, so these are rules, each one tested.

A person is **down** when, against their last upright moment,
- the head (neck, else a shoulder or the nose) has come down by at least `drop_trunks` trunk
  lengths, and
- the body is low: the trunk is near horizontal, or it is foreshortened to a stub (lying with
  the head or feet toward the camera), or the hips are down at the feet's level (sitting on the
  floor with the trunk upright).
Sitting on a chair or a bed lowers the head by about one trunk and leaves the hips a thigh above
the feet; a squat, a chair stand, kneeling, tying a shoe or picking something up lowers the head
as much but not for long, and the hips stay above the feet. So:
- **fall**: down, having come down from upright within `descent_s`, and still down after
  `hold_s` (a squat's bottom is left by then). A drop of the head by `hard_trunks` within
  `hard_descent_s` ending with the trunk horizontal or foreshortened is a **hard** fall.
- **left the picture downward**: the person is gone (no pose, or no head and no hips) within
  `gone_s` of coming down fast at the bottom of the picture, and stays gone for `gone_s`.
A slow, deliberate lowering to the floor (longer than `descent_s`, as floor exercise begins) and
someone never seen upright (already lying when the camera first sees them) are not falls.
Lying on purpose: while the exercise itself lies down (a part whose instructor lies: its
keyframes' trunk beyond LYING_LEAN_DEG, `lies_down`), the service sets `lying_expected`, and being
down then is the exercise, not a fall (a fall is an unexpected way down): a way down begun or held
while it is set raises nothing, nor does leaving the picture downward, until the person is up again.
After an event the detector waits until the person has been upright again, or `refractory_s`; one
who stays down `still_down_s` after it is reported again as "still_down" (they waved from the floor
and did not get up: ask again).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from common.coach.geometry import MIN_SCORE, another_body, trunk_lean
from common.coach.keypoints import COMMON_INDEX

_HIP, _NECK, _NOSE = COMMON_INDEX["mid_hip"], COMMON_INDEX["neck"], COMMON_INDEX["nose"]
_SHOULDERS = [COMMON_INDEX["left_shoulder"], COMMON_INDEX["right_shoulder"]]
_HIPS = [COMMON_INDEX["left_hip"], COMMON_INDEX["right_hip"]]
_ANKLES = [COMMON_INDEX["left_ankle"], COMMON_INDEX["right_ankle"]]


@dataclass(frozen=True)
class FallEvent:
    """What the detector saw: `kind` "fall", "left_view" or "still_down" (down still_down_s after
    the last event); `hard` asks for a call at once."""
    kind: str
    hard: bool
    t: float
    why: str  # plain words for the log and the carer's alert


@dataclass
class _Upright:
    t: float
    head_y: float
    hip_y: float
    trunk: float


@dataclass
class FallDetector:
    drop_trunks: float = 1.0  # the head this many trunk lengths below its upright height: low enough
    hips_down_trunks: float = 0.4  # lying: the hips came down at least this far too (not bent over at the waist)
    hips_at_feet_trunks: float = 0.4  # hips within this of the feet's level: sitting on the floor
    horizontal_deg: float = 55.0  # the trunk this far from upright: lying
    stub_fraction: float = 0.5  # the trunk seen shorter than this share of its upright length: lying toward the camera
    upright_deg: float = 25.0  # the trunk within this of upright: standing or seated tall
    memory_s: float = 10.0  # upright moments remembered as the reference
    min_upright: int = 5  # upright poses needed in memory before anything is judged against them
    upright_trunks: float = 0.25  # the head within this of its upright height: still (or again) up
    descent_s: float = 3.0  # from up to down within this: a fall, not a deliberate lowering
    hold_s: float = 0.5  # still down this long
    hard_trunks: float = 2.0  # a hard fall: the head this far down within hard_descent_s, ending lying
    hard_descent_s: float = 0.7
    gone_s: float = 0.6  # leaving the picture downward: gone within this of coming down, and for this long
    bottom_fraction: float = 0.8  # "at the bottom of the picture": the hips below this share of its height
    refractory_s: float = 30.0
    still_down_s: float = 60.0  # still down this long after an event: said again ("still_down")
    _upright: deque = field(default_factory=lambda: deque(maxlen=900))
    _trunk: float = 0.0  # upright trunk length (px): the 90th percentile of the upright moments remembered
    _near_upright_t: float | None = None  # last time the head was near its upright height
    _down_since: float | None = None
    _down_from: float | None = None  # when the descent that led down began
    _recent: deque = field(default_factory=lambda: deque(maxlen=120))  # (t, head_y, hip_y, trunk, height)
    _gone_since: float | None = None
    _armed: bool = True
    _last_event: float = -1e9
    on_floor: bool = False  # the last pose seen was down (for the carer's alert: still on the floor)
    up_again_s: float = 2.0  # upright this long without a break after an event: up again (up_since_event)
    _stood_again: bool = True
    _up_run_from: float | None = None  # when the present run of upright poses began
    lying_expected: bool = False  # the exercise now lies down (set by the service per pose): being down is no fall
    _last_hip: tuple | None = None  # (t, x, y, trunk) of the last reading's hips (geometry.another_body)
    size_agrees: float = 1.4  # upright trunks within this factor of their median are the person's own
    _ref: _Upright | None = None  # the highest upright moment of those (the heights' reference)
    _sized: bool = False  # seen upright min_upright times (since the start, or since another person was read)

    @property
    def unit(self) -> float:
        """The person's upright trunk length (px), the detector's unit; 0 before it has seen them upright."""
        return self._trunk

    @property
    def up_since_event(self) -> bool:
        """Whether the person has stood (or sat tall) again since the last event, upright for
        `up_again_s` without a break (True before any): one pose read upright is not that (MoveNet
        read ball_slip's man, lying along the bottom edge, upright for a moment 1.3 s after his fall)."""
        return self._stood_again

    def update(self, t: float, common: np.ndarray | None, frame_height: float | None = None) -> FallEvent | None:
        """One pose (the common skeleton, or None when nobody is in view) at time t (seconds);
        frame_height (pixels) lets the detector tell leaving at the bottom from leaving at a side.
        Returns a FallEvent when one should be raised, else None."""
        head = _head_y(common) if common is not None else None
        hip = _point_y(common, _HIP, _HIPS) if common is not None else None
        if head is None and hip is None:
            self._up_run_from = None
            return self._gone(t, frame_height)
        self._gone_since = None
        lean = trunk = None
        neck, mid_hip = common[_NECK], common[_HIP]
        if neck[2] >= MIN_SCORE and mid_hip[2] >= MIN_SCORE:
            lean = trunk_lean(mid_hip, neck)
            trunk = float(np.hypot(*(neck[:2] - mid_hip[:2])))
            if _upside_down(common, mid_hip, trunk):
                return None  # the model lost the body (feet in the air above the head): not a pose to judge
            if self._followed_someone_else(t, mid_hip, trunk):
                self._forget()  # another person's body is read now: their own upright is the reference
            # An upright moment: the trunk near vertical and not foreshortened (a person lying
            # with their feet toward the camera also shows a "vertical" trunk, a short one), or
            # short with the head where it was upright: the unit was taken too long (a first
            # misread pose of two_people_sports2d, trunk 185-220 px against the man's 105-130,
            # made every later upright moment "foreshortened", the unit never corrected, and him
            # "lying" whenever his head dipped: a fall in one reading of the clip, none in another).
            if lean is not None and lean < self.upright_deg and (
                    trunk >= self.stub_fraction * 1.4 * self._trunk or self._head_where_upright(neck[1])):
                self._upright.append(_Upright(t, float(neck[1]), float(mid_hip[1]), trunk))
                self._up_run_from = t if self._up_run_from is None else self._up_run_from
                if t - self._up_run_from >= self.up_again_s:
                    self._stood_again = True
            else:
                self._up_run_from = None
        else:
            self._up_run_from = None
        while self._upright and t - self._upright[0].t > self.memory_s:
            self._upright.popleft()
        if self._upright:
            # The unit and the reference from the upright moments that agree on the person's size:
            # a misread (a first reading, another body for a moment) is a few among many.
            trunks = np.array([u.trunk for u in self._upright])
            middle = float(np.median(trunks))
            agree = (trunks >= middle / self.size_agrees) & (trunks <= middle * self.size_agrees)
            if not agree.any():  # two far apart, the median between them: neither is the person yet
                agree[:] = True
            self._trunk = float(np.percentile(trunks[agree], 90))
            self._ref = min((u for u, ok in zip(self._upright, agree) if ok), key=lambda u: u.head_y)
            self._sized = self._sized or len(self._upright) >= self.min_upright
        self._recent.append((t, head, hip, self._trunk, frame_height))
        while self._recent and t - self._recent[0][0] > 2.0:
            self._recent.popleft()
        if len(self._upright) < self.min_upright or self._trunk <= 0:
            if not self._armed and self._down_since is not None and (lean is None or lean >= self.upright_deg):
                return self._still_down(t)  # down since the last event, the upright moments forgotten
            return None  # not seen upright lately: no reference to fall from
        unit = self._trunk
        ref = self._ref  # the highest the head was, upright
        head_drop = (head - ref.head_y) / unit if head is not None else None
        hip_drop = (hip - ref.hip_y) / unit if hip is not None else None
        if head_drop is not None and head_drop < self.upright_trunks:
            self._near_upright_t = t
        # Low posture: lying (trunk near horizontal, or a foreshortened stub) or sitting on the floor.
        lying = (lean is not None and lean >= self.horizontal_deg) or \
            (trunk is not None and trunk < self.stub_fraction * unit)
        feet = [common[i][1] for i in _ANKLES if common[i][2] >= MIN_SCORE]
        hips_at_feet = bool(hip is not None and feet and (max(feet) - hip) < self.hips_at_feet_trunks * unit)
        # A fall brings the hips down too: bending over to a shoe or the floor turns the trunk as
        # far but keeps them up, and lying back from sitting up (a sit-up) pivots on them.
        hips_down = hip_drop is None or hip_drop >= self.hips_down_trunks
        # True: down; False: clearly not down; None: cannot tell from this pose (points missing),
        # which neither starts nor ends a time spent down.
        drop = head_drop if head_drop is not None else hip_drop
        if drop is None:
            low = None
        elif drop < self.drop_trunks:
            low = False
        elif (lying or hips_at_feet) and hips_down:
            low = True
        elif (lean is not None and feet) or not hips_down:
            low = False  # trunk up, hips well above the feet (kneeling, squatting), or hips up (bending)
        else:
            low = None
        if low is None:
            return None
        self.on_floor = low
        if not low:
            self._down_since = self._down_from = None
            if head_drop is not None and head_drop < self.upright_trunks and not self._armed \
                    and lean is not None and lean < self.upright_deg:
                self._armed = True  # up again: the next fall is a new one
            return None
        if self._down_since is None:
            self._down_since = t
            self._down_from = self._near_upright_t
        if self.lying_expected:
            self._down_from = None  # down as the exercise asks (a sit-up's mat): a deliberate way down
        if not self._armed:
            return self._still_down(t)
        if t - self._last_event < self.refractory_s:
            return None
        if self._down_from is None or self._down_since - self._down_from > self.descent_s:
            return None  # a slow, deliberate way down (or no upright moment before it)
        if t - self._down_since < self.hold_s:
            return None
        descent = self._down_since - self._down_from
        hard = lying and head_drop is not None and descent <= self.hard_descent_s and \
            head_drop >= self.hard_trunks
        how = "lying" if lying else "sitting on the floor"
        return self._fire(FallEvent("fall", hard, t, f"came down from upright in {descent:.1f} s and stayed down "
                                    f"({how}, the head {head_drop if head_drop is not None else hip_drop:.1f} "
                                    f"trunk lengths lower)"))

    def _head_where_upright(self, head_y: float) -> bool:
        """The head within upright_trunks of (or above) the highest it was upright, in the unit;
        True until the person has been seen upright min_upright times (a first misread is one).
        The last reference is kept when the memory runs out: someone lying still for long after
        a fall is not upright by having been down longer than memory_s."""
        if not self._sized or self._ref is None or self._trunk <= 0:
            return True
        return (head_y - self._ref.head_y) / self._trunk < self.upright_trunks

    def _followed_someone_else(self, t: float, mid_hip: np.ndarray, trunk: float) -> bool:
        """The reader now follows another person (geometry.another_body; one person's reader took
        the woman walking past in front of two_people_sports2d's man: 5 trunk lengths in 0.1 s).
        Measured in the larger of the two readings' trunks and the person's upright one."""
        body = (t, float(mid_hip[0]), float(mid_hip[1]), max(trunk, self._trunk))
        last, self._last_hip = self._last_hip, body
        return another_body(last, body)

    def _forget(self) -> None:
        """Start again on the person now followed: their upright moments, their unit, no time down.
        An event already raised stays raised (armed, refractory, still down are the question's)."""
        self._upright.clear()
        self._recent.clear()
        self._trunk, self._ref, self._sized = 0.0, None, False
        self._near_upright_t = self._down_since = self._down_from = None
        self._up_run_from = None

    def _gone(self, t: float, frame_height: float | None) -> FallEvent | None:
        """Nobody in view: did they just drop out of the bottom of the picture?"""
        if self._gone_since is None:
            self._gone_since = t
        if self.lying_expected:
            return None  # lying down is the exercise: someone lying low may leave the picture's bottom
        if not self._recent or not self._armed or t - self._last_event < self.refractory_s:
            return None
        last_t = self._recent[-1][0]
        if t - self._gone_since < self.gone_s or self._gone_since - last_t > self.gone_s:
            return None
        seen = [r for r in self._recent if last_t - r[0] <= 1.0]
        unit = seen[-1][3]
        if unit <= 0 or len(seen) < 2:
            return None
        heads = [(r[0], r[1]) for r in seen if r[1] is not None] or [(r[0], r[2]) for r in seen if r[2] is not None]
        if len(heads) < 2:
            return None
        fall = (heads[-1][1] - min(y for _, y in heads)) / unit
        hips = [r[2] for r in seen if r[2] is not None]
        height = seen[-1][4]
        at_bottom = height is None or (hips and hips[-1] >= self.bottom_fraction * height) or \
            heads[-1][1] >= self.bottom_fraction * height
        if fall >= 0.5 * self.drop_trunks and at_bottom:
            return self._fire(FallEvent("left_view", False, t, f"came down {fall:.1f} trunk lengths within a second "
                                        "and left the picture at the bottom"))
        return None

    def _still_down(self, t: float) -> FallEvent | None:
        """Still down long after the last event (someone who waved from the floor and stayed there)."""
        if t - self._last_event >= self.still_down_s and t - self._down_since >= self.still_down_s:
            return self._fire(FallEvent("still_down", False, t, f"still down {t - self._down_since:.0f} s after a fall"))
        return None

    def _fire(self, event: FallEvent) -> FallEvent:
        self._last_event = event.t
        self._armed = False
        self._stood_again, self._up_run_from = False, None
        return event


def lies_down(routine) -> bool:
    """Whether a routine's instructor lies down in it (floor exercise: sit-ups, leg raises on a
    mat): the keyframes' trunk beyond LYING_LEAN_DEG on at least a tenth of them, as program build
    tells a lying movement (common/coach/segment.py); a squat's forward lean (under 52 deg on the
    clips of ../shared) is not lying. A routine whose keyframes carry no trunk angle does not."""
    from common.coach.segment import LYING_LEAN_DEG

    lean = [kf.angles["trunk_lean"] for kf in routine.keyframes if kf.angles.get("trunk_lean") is not None]
    return bool(lean) and float(np.percentile(lean, 90)) > LYING_LEAN_DEG


def _upside_down(common: np.ndarray, mid_hip: np.ndarray, trunk: float) -> bool:
    """Both feet a trunk length above the hips with the head below them: a model that lost the
    body draws this (seen with BlazePose on a person bending over); people on the floor do not."""
    feet = [common[i][1] for i in _ANKLES if common[i][2] >= MIN_SCORE]
    return len(feet) == 2 and max(feet) < mid_hip[1] - trunk and common[_NECK][1] > mid_hip[1]


def _point_y(common: np.ndarray, derived: int, pair: list[int]) -> float | None:
    if common[derived][2] >= MIN_SCORE:
        return float(common[derived][1])
    seen = [common[i][1] for i in pair if common[i][2] >= MIN_SCORE]
    return float(np.mean(seen)) if seen else None


def _head_y(common: np.ndarray) -> float | None:
    """The shoulders' height, else the nose's (a little above them: taken as it is)."""
    y = _point_y(common, _NECK, _SHOULDERS)
    if y is None and common[_NOSE][2] >= MIN_SCORE:
        y = float(common[_NOSE][1])
    return y
