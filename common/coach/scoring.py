"""Session scoring: joint angles against a routine, lag-tolerant, with reps, holds and summary.

Alignment (docs/scoring.md): for every candidate offset d in [-W, +W] (0.1 s steps) we keep an
exponentially-weighted cost (time constant 1 s) of comparing the participant at time t with the
routine at t - d; each frame uses the cheapest offset. This is a best match within a window over
the last second, which follows a participant who lags or leads by up to W and one whose lag
drifts slowly (moving more slowly than the instructor), at the cost of one angle comparison per
candidate (31 at W = 1.5 s). `naive=True` compares at the same timestamp, like the prototype.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from common.coach.geometry import SIGNED_ANGLES, joint_angles
from common.coach.keypoints import COMMON_INDEX, MIRROR_SWAP, mirror
from common.coach.reps import RepCounter
from common.coach.routine import Routine

STATUS_ORDER = {"none": 0, "correct": 1, "near": 2, "wrong": 3}
TURN_SIDEWAYS = "turn.side"  # locale key: the cue to stand side-on to the camera
ERROR_CAP_DEG = 60.0  # one wild joint should not dominate the alignment cost


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


def guidance_key(joint: str, angle: float, target: float) -> str:
    """Locale key for one line of advice: '<joint group>.more' = open the angle more (for a
    signed angle such as trunk_tilt: lean further to the side the routine asks for)."""
    group = joint.replace("left_", "").replace("right_", "")
    more = abs(angle) < abs(target) if joint in SIGNED_ANGLES else angle < target
    return f"{group}.{'more' if more else 'less'}"


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
    step_s: float = 0.1
    lag_memory_s: float = 6.0  # time constant of the offset estimate: about one movement cycle
    frames: int = 0
    frames_scored: int = 0
    frames_correct: int = 0
    hold_s: float = 0.0
    _offsets: np.ndarray = field(init=False)
    _costs: np.ndarray = field(init=False)
    _last_t: float | None = None
    _prev_t: float | None = None
    _joint_seen: dict = field(default_factory=dict)
    _joint_correct: dict = field(default_factory=dict)
    _angles_seen: dict = field(default_factory=dict)
    _view: ViewEstimate = field(default_factory=ViewEstimate)

    def __post_init__(self):
        n = 0 if self.naive else int(round(self.lag_window_s / self.step_s))
        self._offsets = np.arange(-n, n + 1) * self.step_s
        self._costs = np.zeros(len(self._offsets))
        self.reps = RepCounter(self.routine.reps) if self.routine.reps else None

    # -- per frame --------------------------------------------------------------------------
    def _frame_costs(self, t: float, angles: dict[str, float | None]) -> np.ndarray | None:
        joints = [j for j in self.routine.joints if angles.get(j) is not None]
        if not joints:
            return None
        costs = np.empty(len(self._offsets))
        for i, d in enumerate(self._offsets):
            target = self.routine.target(t - d)
            errs = [min(abs(angles[j] - target[j]), ERROR_CAP_DEG) for j in joints if j in target]
            costs[i] = sum(errs) / len(errs) if errs else ERROR_CAP_DEG
        return costs

    def update(self, t: float, common: np.ndarray | None, world: np.ndarray | None = None) -> FrameScore:
        """Score one pose at routine time t (seconds since the routine started)."""
        self.frames += 1
        if common is not None and len(common) and self.routine.mirror:
            common = mirror(common, 0.0)  # the flip's x origin does not change any angle
            world = None if world is None else world[list(MIRROR_SWAP)]
        angles = joint_angles(common, world) if common is not None and len(common) else {}
        if t < 0:
            # The countdown: not scored, but the repetition counter sees the start position
            # (a chair-stand test begins seated at "go").
            self.frames -= 1
            if self.reps:
                self.reps.update(t, angles)
            return FrameScore({j: "none" for j in self.routine.joints}, {}, "none", 0.0,
                              self.reps.count if self.reps else 0, 0.0, 0.0, "", "countdown", angles)
        costs = self._frame_costs(t, angles)
        if costs is not None:
            dt = 0.1 if self._last_t is None else max(t - self._last_t, 1e-3)
            alpha = 1.0 - math.exp(-dt / self.lag_memory_s)
            self._costs = costs if self._last_t is None else (1 - alpha) * self._costs + alpha * costs
            self._last_t = t
        offset = float(self._offsets[int(np.argmin(self._costs))])
        target = self.routine.target(t - offset)
        status, errors = {}, {}
        for j, rule in self.routine.joints.items():
            a = angles.get(j)
            if a is None or j not in target:
                status[j] = "none"
                continue
            err = a - target[j]
            errors[j] = round(err, 1)
            tol, near = rule.tolerance * self.tolerance_scale, rule.near * self.tolerance_scale
            status[j] = "correct" if abs(err) <= tol else "near" if abs(err) <= near else "wrong"
        verdict = self._verdict(status)
        self._account(t, status, angles, verdict)
        worst = max((j for j in errors if status[j] in ("near", "wrong")), key=lambda j: abs(errors[j]), default="")
        guidance = guidance_key(worst, angles[worst], target[worst]) if worst else ""
        # A 2D model (no world landmarks) cannot see a movement toward the camera: ask the person
        # to stand side-on rather than tell them a correct squat is wrong.
        if world is None and self.routine.view == "side" and common is not None and self._view.update(t, common):
            guidance = TURN_SIDEWAYS
        return FrameScore(
            joint_status=status, joint_error_deg=errors, verdict=verdict, offset_s=round(offset, 2),
            reps=self.reps.count if self.reps else 0, score=self.score(),
            progress=min(1.0, max(0.0, t / self.routine.duration_s)) if self.routine.duration_s else 0.0,
            guidance=guidance,
            phase=self.routine.phase(t - offset), angles=angles)

    @staticmethod
    def _verdict(status: dict[str, str]) -> str:
        seen = [s for s in status.values() if s != "none"]
        if len(seen) * 2 < len(status):  # most joints hidden: no verdict rather than a guess
            return "none"
        return max(seen, key=STATUS_ORDER.__getitem__)

    def _account(self, t: float, status, angles, verdict) -> None:
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
            self.reps.update(t, angles)

    # -- checkpoint (so a restarted scoring service continues the session) -------------------
    def checkpoint(self) -> dict:
        """What a restarted scorer needs to go on with this session (JSON-safe). The alignment
        estimate and the repetition state machine start afresh; counts and samples carry over."""
        return {"frames": self.frames, "frames_scored": self.frames_scored, "frames_correct": self.frames_correct,
                "hold_s": self.hold_s, "joint_seen": self._joint_seen, "joint_correct": self._joint_correct,
                "angles": {j: [round(a, 1) for a in v[-3000:]] for j, v in self._angles_seen.items()},
                "reps": self.reps.count if self.reps else 0}

    def restore(self, state: dict) -> None:
        self.frames, self.frames_scored = state["frames"], state["frames_scored"]
        self.frames_correct, self.hold_s = state["frames_correct"], state["hold_s"]
        self._joint_seen, self._joint_correct = dict(state["joint_seen"]), dict(state["joint_correct"])
        self._angles_seen = {j: list(v) for j, v in state["angles"].items()}
        if self.reps:
            self.reps.count = state["reps"]

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
        }
        if self.routine.kind == "balance_hold":
            out["hold_s"] = round(self.hold_s, 1)
        return out
