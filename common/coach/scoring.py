"""Session scoring: joint angles against a routine, lag-tolerant, with reps, holds and summary.

Alignment (docs/scoring.md): each frame is judged against the routine position the participant
has reached, which TempoTracker (common/coach/warp.py) follows with bounded online time warping:
a late start, a slower or drifting tempo (0.5x to 1.3x), and re-joining after falling a whole
movement behind. `naive=True` compares at the same timestamp, like the prototype.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from common.coach.framing import FramingMonitor, in_view
from common.coach.geometry import SIGNED_ANGLES, joint_angles, joint_visibility
from common.coach.keypoints import COMMON_INDEX, MIRROR_SWAP, mirror, mirror_name
from common.coach.reps import RepCounter
from common.coach.routine import Routine
from common.timeline import VerdictTimeline
from common.coach.warp import TempoTracker

STATUS_ORDER = {"none": 0, "correct": 1, "near": 2, "wrong": 3}
TURN_SIDEWAYS = "turn.side"  # locale key: the cue to stand side-on to the camera
SLOW_IS_FINE = "pace.slow_ok"  # locale key: fell a movement behind and re-joined; going slowly is fine


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


@dataclass
class SessionScorer:
    routine: Routine
    tolerance_scale: float = 1.0
    lag_window_s: float = 1.5
    naive: bool = False
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

    def __post_init__(self):
        # naive: the same timestamp, like the first prototype; no alignment at all.
        self.tracker = None if self.naive else TempoTracker(self.routine, start_window_s=self.lag_window_s)
        self.reps = RepCounter(self.routine.reps, self.routine.rep_reference()) if self.routine.reps else None

    # -- per frame --------------------------------------------------------------------------
    def update(self, t: float, common: np.ndarray | None, world: np.ndarray | None = None,
               frame_size: tuple[int, int] | None = None) -> FrameScore:
        """Score one pose at routine time t (seconds since the routine started). With the
        picture's (width, height), points out of the picture are not seen (common/coach/framing.py)."""
        self.frames += 1
        present = common is not None and len(common) > 0
        parts: frozenset = frozenset()
        if present and frame_size is not None:
            common, parts = in_view(common, *frame_size)
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
                self.reps.update(t, angles, seen)
            return FrameScore({j: "none" for j in self.routine.joints}, {}, "none", 0.0,
                              self.reps.count if self.reps else 0, 0.0, 0.0, setup_cue, "countdown", angles)
        if self.tracker is None:
            position, rejoined = t, False
        else:
            before = self.tracker.rejoined
            position = self.tracker.update(t, angles)
            rejoined = self.tracker.rejoined > before
        offset = t - position
        if self._prev_t is not None and t > self._prev_t:
            dt = t - self._prev_t
            self._frame_interval_s = dt if not self._frame_interval_s else 0.8 * self._frame_interval_s + 0.2 * dt
        band = self.routine.target_range(position, min(self._frame_interval_s, self.max_timing_slack_s))
        status, errors, target = {}, {}, {}
        for j, rule in self.routine.joints.items():
            a = angles.get(j)
            if a is None or j not in band:
                status[j] = "none"
                continue
            target[j] = min(max(a, band[j][0]), band[j][1])  # the nearest target within the slack
            err = a - target[j]
            errors[j] = round(err, 1)
            tol, near = rule.tolerance * self.tolerance_scale, rule.near * self.tolerance_scale
            status[j] = "correct" if abs(err) <= tol else "near" if abs(err) <= near else "wrong"
        verdict = self._verdict(status)
        self._account(t, status, angles, verdict, seen)
        worst = max((j for j in errors if status[j] in ("near", "wrong")), key=lambda j: abs(errors[j]), default="")
        guidance = ""
        if worst:
            other = mirror_name(worst)
            other_side = (_direction(other, angles[other], target[other])
                          if status.get(other) in ("near", "wrong") else "")
            guidance = guidance_key(worst, angles[worst], target[worst], other_side, self.routine.mirror)
        # A 2D model (no world landmarks) cannot see a movement toward the camera: ask the person
        # to stand side-on rather than tell them a correct squat is wrong.
        if world is None and self.routine.view == "side" and common is not None and self._view.update(t, common):
            guidance = TURN_SIDEWAYS
        if rejoined:  # a whole movement behind: re-joined at the next one, and told that is fine
            guidance = SLOW_IS_FINE
        if setup_cue:  # the view first: advice about joints the camera cannot see would be a guess
            guidance = setup_cue
        if verdict != "none" and self.tracker is not None:
            # The movement actually done: re-joining skips a cycle of the routine, not of the person.
            self._timing.append((t, position - self.tracker.rejoined * self.routine.cycle_s))
        return FrameScore(
            joint_status=status, joint_error_deg=errors, verdict=verdict, offset_s=round(offset, 2),
            reps=self.reps.count if self.reps else 0, score=self.score(),
            progress=min(1.0, max(0.0, t / self.routine.duration_s)) if self.routine.duration_s else 0.0,
            guidance=guidance,
            phase=self.routine.phase(position), angles=angles)

    @staticmethod
    def _verdict(status: dict[str, str]) -> str:
        seen = [s for s in status.values() if s != "none"]
        if len(seen) * 2 < len(status):  # most joints hidden: no verdict rather than a guess
            return "none"
        return max(seen, key=STATUS_ORDER.__getitem__)

    def _account(self, t: float, status, angles, verdict, seen=None) -> None:
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
            if a is not None:
                self._angles_seen.setdefault(j, []).append(a)
        if self.reps:
            self.reps.update(t, angles, seen)

    # -- checkpoint (so a restarted scoring service continues the session) -------------------
    def checkpoint(self) -> dict:
        """What a restarted scorer needs to go on with this session (JSON-safe). The alignment
        estimate and the repetition state machine start afresh; counts and samples carry over."""
        return {"frames": self.frames, "frames_scored": self.frames_scored, "frames_correct": self.frames_correct,
                "hold_s": self.hold_s, "joint_seen": self._joint_seen, "joint_correct": self._joint_correct,
                "angles": {j: [round(a, 1) for a in v[-3000:]] for j, v in self._angles_seen.items()},
                "reps": self.reps.count if self.reps else 0, "timeline": self._timeline.counts,
                "framing": self.framing.checkpoint()}

    def restore(self, state: dict) -> None:
        self.frames, self.frames_scored = state["frames"], state["frames_scored"]
        self.frames_correct, self.hold_s = state["frames_correct"], state["hold_s"]
        self._joint_seen, self._joint_correct = dict(state["joint_seen"]), dict(state["joint_correct"])
        self._angles_seen = {j: list(v) for j, v in state["angles"].items()}
        if self.reps:
            self.reps.count = state["reps"]
        self._timeline = VerdictTimeline([list(c) for c in state.get("timeline", [])])
        if "framing" in state:  # a checkpoint written before framing was kept has none
            self.framing.restore(state["framing"])

    # -- session ----------------------------------------------------------------------------
    def score(self) -> float:
        return round(100.0 * self.frames_correct / self.frames_scored, 1) if self.frames_scored else 0.0

    def range_of_motion(self) -> dict[str, dict[str, float]]:
        out = {}
        for j, values in self._angles_seen.items():
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
        out = {
            "score": self.score(), "frames": self.frames, "frames_scored": self.frames_scored,
            "reps": self.reps.count if self.reps else 0,
            "joints": {j: round(self._joint_correct.get(j, 0) / n, 3) for j, n in self._joint_seen.items()},
            "range_of_motion": rom, "asymmetry_pct": asym, "routine": self.routine.name, "kind": self.routine.kind,
            "timeline": self._timeline.codes(),
        }
        if self.reps and self.reps.by_side():  # one-sided or alternating: per side (reps is their sum)
            out["reps_by_side"] = self.reps.by_side()
        if self.reps and self.reps.depth():  # how deep the counted repetitions went against the target
            out["rep_depth"] = self.reps.depth()
        if self.framing.seconds > 0:
            out["framing"] = self.framing.summary()
        if self.routine.kind == "balance_hold":
            out["hold_s"] = round(self.hold_s, 1)
        if self._timing:
            out["timing"] = self.timing()
        return out

    def timing(self) -> dict:
        """How far behind (+) or ahead the participant moved, and their tempo against the
        routine's at the start and end of the session (first and last third of scored time):
        reported apart from the form score because a slowing tempo is worth a carer's attention."""
        t, position = (np.array(c) for c in zip(*self._timing))
        third = max(2, len(t) // 3)

        def tempo(a: np.ndarray, b: np.ndarray) -> float:  # the slope of routine time over clock time
            return round(float(np.polyfit(a, b, 1)[0]), 2) if len(a) >= 2 and np.ptp(a) > 0 else 1.0

        return {"mean_lag_s": round(float((t - position).mean()), 2), "tempo": tempo(t, position),
                "tempo_start": tempo(t[:third], position[:third]), "tempo_end": tempo(t[-third:], position[-third:]),
                "rejoined": self.tracker.rejoined}
