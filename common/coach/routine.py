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


def _check(data: dict, where: str) -> None:
    """The values a routine file may hold, each wrong one named with what to do."""
    def bad(what: str, why: str):
        raise RoutineError(f"{where}: {what} {why}")
    if not isinstance(data, dict):
        raise RoutineError(f"{where}: a routine file is one JSON object (see docs/routines.md)")
    for key in ("duration_s", "hold_s"):
        if key in data and not (isinstance(data[key], (int, float)) and not isinstance(data[key], bool)
                                and data[key] >= 0):
            bad(key, f"must be a number of seconds, 0 or more (got {data[key]!r})")
    for joint, rule in (data.get("joints") or {}).items():
        if not isinstance(rule, dict):
            bad(f"joints.{joint}", "must be an object like {\"tolerance\": 15, \"near\": 30}")
        tol, near = rule.get("tolerance", 15.0), rule.get("near", 30.0)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (tol, near)) or tol <= 0:
            bad(f"joints.{joint}.tolerance", f"must be a positive number of degrees (got {tol!r})")
        if near < tol:
            bad(f"joints.{joint}.near", f"({near}) must not be below its tolerance ({tol})")
    reps = data.get("reps")
    if reps is not None:
        if not isinstance(reps, dict) or not reps.get("joints"):
            bad("reps", "must name the joints to count on, e.g. {\"joints\": [\"left_knee\"], \"low\": 125, ...}")
        unknown = [j for j in reps["joints"] if j not in ALL_ANGLES]
        if unknown:
            bad("reps.joints", f"has {unknown}, which are not joint angles; known: {', '.join(ALL_ANGLES)}")
        low, high = reps.get("low"), reps.get("high")
        if not all(isinstance(v, (int, float)) for v in (low, high)) or not low < high:
            bad("reps.low/high", f"must be numbers with low below high (got {low!r} and {high!r})")
        if reps.get("start", "high") not in ("high", "low"):
            bad("reps.start", f"must be \"high\" or \"low\" (got {reps.get('start')!r})")
    if data.get("view", "front") not in VIEWS:
        bad("view", f"must be one of {', '.join(VIEWS)} (got {data.get('view')!r})")


def parse(data: dict, source: str = "") -> Routine:
    where = source or (data.get("name", "routine") if isinstance(data, dict) else "routine")
    _check(data, where)
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
        return Routine(
            name=data["name"], title=data.get("title", {}), description=data.get("description", {}),
            joints=joints, keyframes=kfs, duration_s=float(data.get("duration_s", kfs[-1].t)),
            loop=bool(data.get("loop", False)),
            reps=RepRule(joints=tuple(reps["joints"]), low=float(reps["low"]), high=float(reps["high"]),
                         start=reps.get("start", "high"), min_rep_s=float(reps.get("min_rep_s", 0.5))) if reps else None,
            seated_variant=data.get("seated_variant", ""), kind=data.get("kind", "routine"),
            hold_s=float(data.get("hold_s", 0.0)), mirror=bool(data.get("mirror", False)), view=data.get("view", "front"),
            source=source)
    except KeyError as exc:
        raise RoutineError(f"{where}: the field {exc} is missing (see docs/routines.md)") from None
    except (TypeError, ValueError) as exc:
        raise RoutineError(f"{where}: a value has the wrong type ({exc}); see docs/routines.md") from None


def read_json(path: Path):
    """A JSON file as a user saved it: UTF-8 (a BOM from a Windows editor is fine); anything else
    is one RoutineError saying what to do."""
    if path.is_dir():
        raise RoutineError(f"{path} is a folder; give the routine's .json file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RoutineError(f"{path} is not UTF-8 text (saved as CP949 / EUC-KR?): save it as UTF-8 and try "
                           "again") from None
    if not text.strip():
        raise RoutineError(f"{path} is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RoutineError(f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})") from None


def bundled() -> list[str]:
    folder = resources.files("common.coach").joinpath("routines")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def load(name_or_path: str) -> Routine:
    path = Path(name_or_path)
    if path.suffix == ".json" and path.exists():
        return parse(read_json(path), str(path))
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
