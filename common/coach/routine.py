"""Routine files (JSON, documented in docs/routines.md): keyframes with target joint angles.

A routine's target angles at time t are interpolated linearly between keyframes; with
`"loop": true` the keyframes repeat until `duration_s`.
"""
from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from common.coach.geometry import ALL_ANGLES


class RoutineError(ValueError):
    pass


VIEWS = ("front", "side")


@dataclass(frozen=True)
class JointRule:
    tolerance: float = 15.0  # |error| within this: correct (green)
    near: float = 30.0  # within this: near (yellow); beyond: wrong (red)


@dataclass(frozen=True)
class RepRule:
    joints: tuple[str, ...]  # all of them must cross the thresholds (a lone swinging limb does not)
    low: float  # the "turned" position: every joint angle below this
    high: float  # the start position: every joint angle above this
    start: str = "high"  # which end the participant starts and finishes at
    min_rep_s: float = 0.5


@dataclass(frozen=True)
class Keyframe:
    t: float
    angles: dict[str, float]
    phase: str = ""
    keypoints: list | None = None  # optional reference keypoints (common skeleton), for the instructor figure


@dataclass(frozen=True)
class Routine:
    name: str
    title: dict[str, str]
    description: dict[str, str]
    joints: dict[str, JointRule]
    keyframes: tuple[Keyframe, ...]
    duration_s: float
    loop: bool = False
    reps: RepRule | None = None
    seated_variant: str = ""
    kind: str = "routine"  # "routine" | "chair_stand_30s" | "arm_curl_30s" | "balance_hold"
    hold_s: float = 0.0
    mirror: bool = False  # True: the participant moves as the mirror image of the reference
    # How a camera must see the movement when the model gives no depth (MoveNet, the Coral):
    # "front" for movements in the picture's plane (arm raises, side bends); "side" for those
    # toward the camera (squats, chair stands, curls, knee lifts), which a 2D model only sees
    # side-on. With world landmarks (BlazePose) either works from the front.
    view: str = "front"
    source: str = field(default="", compare=False)

    @property
    def cycle_s(self) -> float:
        return self.keyframes[-1].t

    @cached_property
    def times(self) -> tuple[float, ...]:
        """Keyframe times, for bisecting: scoring asks for targets 31 times per frame, and a
        routine built from a long video has thousands of keyframes."""
        return tuple(k.t for k in self.keyframes)

    @cached_property
    def _phases(self) -> tuple[str, ...]:
        """The phase in force at each keyframe (a keyframe without one continues the last)."""
        out, current = [], self.keyframes[0].phase
        for kf in self.keyframes:
            current = kf.phase or current
            out.append(current)
        return tuple(out)

    def keyframe_at(self, t: float) -> int:
        """Index of the last keyframe at or before t (0 before the first)."""
        return max(bisect.bisect_right(self.times, t) - 1, 0)

    def target(self, t: float) -> dict[str, float]:
        """Target angle of each scored joint at routine time t (clamped to the routine)."""
        t = min(max(t, 0.0), self.duration_s)
        if self.loop and self.cycle_s > 0:
            t = t % self.cycle_s
        kfs = self.keyframes
        if t <= kfs[0].t:
            return dict(kfs[0].angles)
        i = bisect.bisect_left(self.times, t)  # first keyframe at or after t
        if i == len(kfs):
            return dict(kfs[-1].angles)
        a, b = kfs[i - 1], kfs[i]
        f = 0.0 if b.t == a.t else (t - a.t) / (b.t - a.t)
        return {j: a.angles[j] + f * (b.angles[j] - a.angles[j]) for j in a.angles if j in b.angles}

    def phase(self, t: float) -> str:
        if self.loop and self.cycle_s > 0:
            t = t % self.cycle_s
        if t < self.keyframes[0].t:
            return self.keyframes[0].phase
        return self._phases[self.keyframe_at(t)]


def parse(data: dict, source: str = "") -> Routine:
    where = source or data.get("name", "routine")
    try:
        joints = {j: JointRule(**rule) for j, rule in data["joints"].items()}
        unknown = [j for j in joints if j not in ALL_ANGLES]
        if unknown:
            raise RoutineError(f"{where}: unknown joint(s) {unknown}; known: {sorted(ALL_ANGLES)}")
        kfs = tuple(Keyframe(t=float(k["t"]), angles={j: float(a) for j, a in k["angles"].items()},
                             phase=k.get("phase", ""), keypoints=k.get("keypoints"))
                    for k in data["keyframes"])
        if not kfs or any(b.t < a.t for a, b in zip(kfs, kfs[1:])):
            raise RoutineError(f"{where}: keyframes must be non-empty and in time order")
        reps = data.get("reps")
        view = data.get("view", "front")
        if view not in VIEWS:
            raise RoutineError(f"{where}: view {view!r} must be one of {', '.join(VIEWS)}")
        return Routine(
            name=data["name"], title=data.get("title", {}), description=data.get("description", {}),
            joints=joints, keyframes=kfs, duration_s=float(data.get("duration_s", kfs[-1].t)),
            loop=bool(data.get("loop", False)),
            reps=RepRule(joints=tuple(reps["joints"]), low=float(reps["low"]), high=float(reps["high"]),
                         start=reps.get("start", "high"), min_rep_s=float(reps.get("min_rep_s", 0.5))) if reps else None,
            seated_variant=data.get("seated_variant", ""), kind=data.get("kind", "routine"),
            hold_s=float(data.get("hold_s", 0.0)), mirror=bool(data.get("mirror", False)), view=view,
            source=source)
    except (KeyError, TypeError) as exc:
        raise RoutineError(f"{where}: bad routine file ({type(exc).__name__}: {exc})") from None


def bundled() -> list[str]:
    folder = resources.files("common.coach").joinpath("routines")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def load(name_or_path: str) -> Routine:
    path = Path(name_or_path)
    if path.suffix == ".json" and path.exists():
        return parse(json.loads(path.read_text(encoding="utf-8")), str(path))
    res = resources.files("common.coach").joinpath("routines").joinpath(f"{name_or_path}.json")
    if not res.is_file():
        raise RoutineError(f"no routine {name_or_path!r}: not a file, and the bundled ones are {', '.join(bundled())}")
    return parse(json.loads(res.read_text(encoding="utf-8")), f"bundled:{name_or_path}")


def to_json(r: Routine) -> dict:
    out = {
        "name": r.name, "title": r.title, "description": r.description, "duration_s": r.duration_s,
        "loop": r.loop, "kind": r.kind, "mirror": r.mirror, "hold_s": r.hold_s, "view": r.view,
        "joints": {j: {"tolerance": rule.tolerance, "near": rule.near} for j, rule in r.joints.items()},
        "keyframes": [{"t": k.t, "phase": k.phase, "angles": k.angles,
                       **({"keypoints": k.keypoints} if k.keypoints else {})} for k in r.keyframes],
    }
    if r.reps:
        out["reps"] = {"joints": list(r.reps.joints), "low": r.reps.low, "high": r.reps.high,
                       "start": r.reps.start, "min_rep_s": r.reps.min_rep_s}
    if r.seated_variant:
        out["seated_variant"] = r.seated_variant
    return out
