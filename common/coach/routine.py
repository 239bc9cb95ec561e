"""Routine files (JSON, documented in docs/routines.md): keyframes with target joint angles.

A routine's target angles at time t are interpolated linearly between keyframes; with
`"loop": true` the keyframes repeat until `duration_s`.
"""
from __future__ import annotations

import bisect
import dataclasses
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

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
    sides: str = "both"  # "both" together | "alternating" | "one_side": the last two counted per side
    # Joints this movement holds still while the counted ones move (an arm raise: the knees and the
    # trunk): a repetition that moved one of them as much as the counted joints is another movement.
    still: tuple[str, ...] = ()
    # Both feet stay on the floor (a squat, a chair stand): a knee bent as far by lifting a foot (a
    # march, a kick) is not one.
    feet_planted: bool = False
    # The counted limb lifts against gravity (an arm raise, a knee lift, a knee extension, a curl):
    # measured from straight down it must move too, not only against the trunk.
    against_gravity: bool = False
    # The movement is repeated: a counter's first repetition counts once a second one like it
    # follows (a lone dance step, a crouch, a stretch that happens to cross the angles is not).
    repeats: bool = False
    # Joints that move along with the counted ones in this movement (a squat: the hips with the
    # knees, sitting back): a repetition at whose deepest moment they moved less than half
    # the share the routine's keyframes give them (degrees per degree of the counted joints) is
    # another movement (a knee dip with the trunk upright, a jump's landing). One side at a time:
    # the other side's are held still (a march's standing knee stays straight).
    moves_with: tuple[str, ...] = ()
    # (joint, degrees it moves per degree of the counted joints on its side, from the keyframes):
    # derived from the routine's keyframes when it is read, not written in the file.
    moves_with_share: tuple[tuple[str, float], ...] = ()
    # The hips stay at their standing height over the floor (a march: the standing leg straight): a
    # repetition whose hips came down a quarter of that height is both legs bending, a squat.
    hips_stay_up: bool = False
    # Done in place (a squat, a chair stand): a repetition over which the hips travelled across the
    # picture as far as their standing height is steps, walking.
    in_place: bool = False


@dataclass(frozen=True)
class Keyframe:
    t: float
    angles: dict[str, float]
    phase: str = ""
    keypoints: list | None = None  # optional reference keypoints (common skeleton), for the instructor figure
    anchor: tuple | None = None  # where `keypoints` sit in the instructor's video: mid-hip x, y, body height


@dataclass(frozen=True)
class InstructorVideo:
    """The instructor's own video, kept in the routine store's videos/ folder under its content
    hash: frame i shows the instructor at routine time i / fps."""

    sha256: str
    fps: float
    frames: int
    width: int
    height: int

    @property
    def file_name(self) -> str:
        return f"{self.sha256}{VIDEO_SUFFIX}"


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
    video: InstructorVideo | None = None
    source: str = field(default="", compare=False)
    # The movement whose cue words it uses (common/coach/cues.py; "" = by name) and its own cue words.
    movement: str = ""
    cues: dict = field(default_factory=dict)
    # The body's position the routine is done in: "standing", "seated", or "" (it changes, as in a
    # squat or a chair stand, or is not said). A repetition done in the other position is not the
    # routine's movement (common/coach/scoring.py, docs/scoring.md "Which movement").
    position: str = ""

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

    @cached_property
    def angle_spans(self) -> dict[str, tuple[float, float]]:
        """Each joint's (lowest, highest) target angle over the keyframes: how far the movement
        takes it (the rest detector's and program build's measure of a routine's range)."""
        spans: dict[str, tuple[float, float]] = {}
        for kf in self.keyframes:
            for joint, angle in kf.angles.items():
                lo, hi = spans.get(joint, (angle, angle))
                spans[joint] = (min(lo, angle), max(hi, angle))
        return spans

    def rep_reference(self) -> dict[str, float]:
        """The instructor's start angle of each joint the repetitions are counted on: its first
        keyframe, where a routine begins in its start position."""
        if not self.reps:
            return {}
        first = self.keyframes[0].angles
        return {j: first[j] for j in self.reps.joints if j in first}

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

    def target_range(self, t: float, slack_s: float) -> dict[str, tuple[float, float]]:
        """The lowest and highest target of each joint scored at t over routine times within
        ±slack_s of t. Targets are linear between keyframes, so the extremes lie at the window's
        ends or at the keyframes inside it."""
        here = self.target(t)
        if slack_s <= 0:
            return {j: (a, a) for j, a in here.items()}
        lo, hi = dict(here), dict(here)
        inside = (self.keyframes[i].angles for i in self._keyframes_within(t - slack_s, t + slack_s))
        for angles in (self.target(t - slack_s), self.target(t + slack_s), *inside):
            for j, a in angles.items():
                if j in lo:
                    lo[j], hi[j] = min(lo[j], a), max(hi[j], a)
        return {j: (lo[j], hi[j]) for j in here}

    def _keyframes_within(self, start: float, end: float) -> list[int]:
        """Indices of the keyframes whose time falls in [start, end] of the session's clock
        (clamped to the routine; a looping routine's keyframes recur every cycle)."""
        start, end = max(start, 0.0), min(end, self.duration_s)
        if end < start:
            return []
        if not (self.loop and self.cycle_s > 0):
            return list(range(bisect.bisect_left(self.times, start), bisect.bisect_right(self.times, end)))
        out, base = [], start - start % self.cycle_s
        while base <= end:
            lo = bisect.bisect_left(self.times, start - base)
            out.extend(range(lo, bisect.bisect_right(self.times, end - base)))
            base += self.cycle_s
        return out

    def phase(self, t: float) -> str:
        if self.loop and self.cycle_s > 0:
            t = t % self.cycle_s
        if t < self.keyframes[0].t:
            return self.keyframes[0].phase
        return self._phases[self.keyframe_at(t)]


JointName = Literal[ALL_ANGLES]  # the angle names of common/coach/geometry.py
KINDS = ("routine", "chair_stand_30s", "arm_curl_30s", "balance_hold")


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is named, not silently ignored


class JointRuleFile(_FileModel):
    tolerance: float = Field(15.0, description="Degrees of error still judged correct (green); more than 0.")
    near: float = Field(30.0, description="Degrees of error judged near (yellow), not below tolerance; "
                                          "beyond it the joint is wrong (red).")

    @field_validator("tolerance")
    @classmethod
    def _positive(cls, value: float) -> float:
        if not value > 0:
            raise ValueError(f"must be a positive number of degrees (got {value:g})")
        return value

    @field_validator("near")
    @classmethod
    def _not_below_tolerance(cls, value: float, info) -> float:
        tolerance = info.data.get("tolerance")
        if tolerance is not None and value < tolerance:
            raise ValueError(f"({value:g}) must not be below its tolerance ({tolerance:g})")
        return value


class RepRuleFile(_FileModel):
    joints: list[JointName] = Field(min_length=1, description="Joint angles that must all cross the thresholds "
                                                              "(a lone swinging limb does not count).")
    low: float = Field(description="Degrees: the 'turned' position has every listed angle below this.")
    high: float = Field(description="Degrees: the start position has every listed angle above this; above low.")
    start: Literal["high", "low"] = Field("high", description="The end a repetition starts and finishes at.")
    min_rep_s: float = Field(0.5, ge=0, description="Shortest repetition counted, in seconds.")
    sides: Literal["both", "alternating", "one_side"] = Field(
        "both", description="'both': every listed joint moves together (a squat, both arms); 'alternating' "
                            "(marching) or 'one_side' (one leg, then the other): the left_ and right_ joints are "
                            "counted apart, per side, and the total is their sum.")
    still: list[JointName] = Field(
        [], description="Joints the movement holds still while the counted ones move (an arm raise: the knees and "
                        "trunk_lean; a seated knee extension: the hips). A repetition at whose deepest moment one "
                        "of them, seen well, has moved half as many degrees as the counted joints or more is another "
                        "movement and is not counted. For 'alternating' and 'one_side' the other side's counted "
                        "joints are held still too (moving the same way at the same moment is not one side).")
    feet_planted: bool = Field(
        False, description="Both feet stay on the floor (a squat, a chair stand): a repetition at whose deepest moment "
                           "one foot is higher in the picture than the other by a quarter of the hips' standing height "
                           "over the floor, or one foot is hidden, and whose hips did not go down (up) over the lower "
                           "foot by half what the knees' bend implies, is not counted (a knee lifted, a kick: the "
                           "standing leg keeps the hips up; a model's guess at a hidden foot may put it high).")
    against_gravity: bool = Field(
        False, description="The counted limb lifts against gravity (an arm raise, a knee lift, a seated knee extension, "
                           "a curl): measured from straight down (the upper arm, thigh, shin or forearm), it must move "
                           "at least half as many degrees as its angle to the body, and at least the floor of the "
                           "routine's excursion that the angle must reach; a trunk leaning or a squat changes the one "
                           "and not the other.")
    repeats: bool = Field(
        False, description="The movement is done again and again (every bundled exercise): each counter's (each side's) "
                           "first repetition counts only once a second one like it has followed (as deep and as long "
                           "within a factor of two, passing the same checks), and then both count at once, so the "
                           "count on the TV shows 0 until the second. A single dance step, crouch or stretch that "
                           "crosses the angles once is not a repetition. False: every repetition counts as it ends "
                           "(a routine built from a video).")
    moves_with: list[JointName] = Field(
        [], description="Joints that move along with the counted ones (a squat: the hips with the knees; "
                        "marching: the knees). At a repetition's deepest moment, those on the counted side that the keyframes move "
                        "must have moved, the counted way, at least half the degrees the keyframes give them per "
                        "degree of the counted joints (a knee dip with the trunk upright, a jump's landing, bends the "
                        "knees without the hips: not a squat). For 'alternating' and 'one_side' the other side's are "
                        "held still: moving the counted way half as many degrees as the counted joints is not one "
                        "side (a squat's other knee bends, a march's standing knee stays straight).")
    hips_stay_up: bool = Field(
        False, description="The hips stay at their standing height over the floor while the counted joints move (marching: "
                           "the standing leg stays straight as the other knee lifts). A repetition whose hips came down "
                           "in the picture, from its start to its deepest moment, by a quarter of their standing height "
                           "over the floor (the lower foot seen) or more is both legs bending, a squat, and is not "
                           "counted: judged from the hips alone, so also where the other knee is hidden or misread "
                           "straight (a jog's bounce lowers them a fifth at most).")
    in_place: bool = Field(
        False, description="The movement is done in place (a squat, a chair stand): a repetition over which the hips "
                           "travelled across the picture, from its start to its return, by their standing height over "
                           "the floor or more is steps or walking (or the model following another person) and is not "
                           "counted. Sitting back moves the hips about a thigh's length at most. The feet stay where "
                           "they stand too: a repetition over which the ankles moved apart or together across the "
                           "picture by half the hips' standing height or more is a jump (a jumping jack spreads and "
                           "closes them) or a step, and is not counted.")

    @model_validator(mode="after")
    def _low_below_high(self):
        if not self.low < self.high:
            raise ValueError(f"low/high must be numbers with low below high (got {self.low:g} and {self.high:g})")
        if self.sides != "both" and not any(j.startswith(("left_", "right_")) for j in self.joints):
            raise ValueError(f"sides '{self.sides}' counts left_ and right_ joints apart: list at least one")
        return self


class KeyframeFile(_FileModel):
    t: float = Field(ge=0, description="Seconds from the routine's start; keyframes in time order.")
    angles: dict[JointName, float] = Field(description="Target angle of each joint, degrees.")
    phase: str = Field("", description="Name of the movement's phase from here on (a cue key), e.g. 'down'.")
    keypoints: list[list[float] | None] | None = Field(
        None, description="Reference pose in the common skeleton, [x, y, score] normalised to the body height "
                          "(written by `silvergym routine build`; drawn as the instructor).")
    anchor: tuple[float, float, float] | None = Field(
        None, description="Where `keypoints` sit in the instructor's video: the mid-hip's x and y as fractions "
                          "of the video's width and height, and the body height as a fraction of its height "
                          "(written by `silvergym routine build`; for the skeleton drawn over the video).")


class VideoFile(_FileModel):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the prepared video file, which is "
                                                               "videos/<sha256>.avi beside the routine file.")
    fps: float = Field(gt=0, le=60, description="Frames per second: frame i shows routine time i / fps.")
    frames: int = Field(ge=1, description="Number of frames in the video.")
    width: int = Field(gt=0, le=4096, description="Frame width in pixels.")
    height: int = Field(gt=0, le=4096, description="Frame height in pixels.")


class CueFile(_FileModel):
    ko: str = Field(min_length=1, max_length=80, description="The words in Korean, naming the direction to move "
                                                            "(\"상체를 조금 더 세우세요\", not \"조금 덜 기울이세요\").")
    en: str = Field(min_length=1, max_length=80, description="The words in English, naming the direction to move.")
    phase: str = Field("", description="The phase of the movement the cue belongs to (a keyframe phase), for the "
                                       "table a physiotherapist reviews.")

    @model_validator(mode="after")
    def _names_a_direction(self):
        from common.coach.cues import directionless

        for locale in ("ko", "en"):
            if directionless(getattr(self, locale), locale):
                raise ValueError(f"{getattr(self, locale)!r} does not name a direction: say which way to move "
                                 "(e.g. '상체를 조금 더 세우세요', 'bring your chest up'), not 'less'")
        return self


class RoutineFile(_FileModel):
    """A routine file (docs/routines.md); docs/schemas/routine.schema.json is generated from this."""
    name: str = Field(min_length=1, description="Routine name, as `--routine NAME` and the summary give it.")
    title: dict[str, str] = Field({}, description="Title per locale, e.g. {\"ko\": \"의자 스쿼트\", \"en\": \"Chair squat\"}.")
    description: dict[str, str] = Field({}, description="What to do and safety advice, per locale.")
    duration_s: float | None = Field(None, ge=0, description="Session length in seconds (default: the last keyframe's "
                                                             "time); with loop the keyframes repeat until then.")
    loop: bool = Field(False, description="Repeat the keyframes until duration_s.")
    kind: Literal[KINDS] = Field("routine", description="Reported in the summary; the Senior Fitness Test counts "
                                                        "and holds have their own kinds.")
    mirror: bool = Field(False, description="The participant moves as the mirror image of the reference (an "
                                            "instructor facing the class): the instructor's video is then shown "
                                            "as recorded; otherwise flipped, so that the side to move is on the "
                                            "same side of the screen as in the participant's mirrored picture.")
    view: Literal[VIEWS] = Field("front", description="How a camera must see the movement for a 2D model: 'front' "
                                                      "(in the picture's plane) or 'side' (toward the camera).")
    hold_s: float = Field(0.0, ge=0, description="For holds: the target time in seconds.")
    seated_variant: str = Field("", description="The routine a participant with seated = true gets instead.")
    position: Literal["standing", "seated", ""] = Field(
        "", description="The body position the movement is done in: 'standing', 'seated', or '' when it changes "
                        "(a squat, a chair stand). A repetition done in the other position scores 0.")
    joints: dict[JointName, JointRuleFile] = Field(description="The joints that count, each with its tolerances.")
    keyframes: list[KeyframeFile] = Field(min_length=1, description="Target angles over time, interpolated "
                                                                    "linearly between keyframes.")
    reps: RepRuleFile | None = Field(None, description="How to count repetitions (none: not counted).")
    video: VideoFile | None = Field(None, description="The instructor's own video (written by `silvergym routine "
                                                      "build`); without it the TV draws the instructor.")
    movement: str = Field("", description="The movement whose cue words the routine uses (a name from "
                                          "common/coach/cues.json: squat, chair_stand, arm_raise, ...; '' = a bundled "
                                          "routine's own by name, else words that say only what each joint does).")
    cues: dict[str, CueFile] = Field({}, description="The routine's own cue words, by key '<joint>.<more|less>' "
                                                     "('left_knee.less') or, for both sides, '<group>.<more|less>' "
                                                     "('knee.less'); they win over the movement's (docs/routines.md).")

    @field_validator("movement")
    @classmethod
    def _known_movement(cls, value: str) -> str:
        from common.coach.cues import movements

        if value and value not in movements():
            raise ValueError(f"unknown movement {value!r}; known ones are {', '.join(movements())}")
        return value

    @field_validator("cues")
    @classmethod
    def _cue_keys(cls, value: dict) -> dict:
        from common.coach.cues import KEY

        for key in value:
            m = KEY.match(key)
            group = m and m[2]
            if not m or not any(a == group or a.endswith("_" + group) for a in ALL_ANGLES):
                raise ValueError(f"cue key {key!r} must be '<joint>.more' or '<joint>.less' (e.g. 'left_knee.less', "
                                 "'knee.less', 'trunk_lean.more')")
        return value

    @model_validator(mode="after")
    def _in_time_order(self):
        if any(b.t < a.t for a, b in zip(self.keyframes, self.keyframes[1:])):
            raise ValueError("keyframes must be in time order")
        return self


def _problem(exc: ValidationError, where: str) -> RoutineError:
    """The first thing wrong, in one line naming the field (as the config's errors do)."""
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    if err["type"] == "missing":
        return RoutineError(f"{where}: the field '{key}' is missing (see docs/routines.md)")
    if err["type"] == "extra_forbidden":
        return RoutineError(f"{where}: {key}: unknown key (see docs/routines.md)")
    if err["type"] == "value_error":
        return RoutineError(f"{where}: {(key + ' ') if key else ''}{err['msg'].removeprefix('Value error, ')}")
    return RoutineError(f"{where}: {key}: {err['msg']} (got {err.get('input')!r})")


def moves_with_share(reps, keyframes) -> tuple[tuple[str, float], ...]:
    """Each `moves_with` joint's degrees per degree of the counted joints on its side (or all of them,
    unsided), their ranges over the routine's keyframes; 0 where the keyframes do not move it."""
    def span(joint):
        values = [k.angles[joint] for k in keyframes if joint in k.angles]
        return max(values) - min(values) if values else 0.0

    out = []
    for joint in reps.moves_with:
        side = next((s for s in ("left_", "right_") if joint.startswith(s)), "")
        counted = [span(j) for j in reps.joints if j.startswith(side)] or [span(j) for j in reps.joints]
        base = sum(counted) / len(counted)
        out.append((joint, round(span(joint) / base, 3) if base > 0 else 0.0))
    return tuple(out)


def parse(data: dict, source: str = "") -> Routine:
    where = source or (data.get("name", "routine") if isinstance(data, dict) else "routine")
    if not isinstance(data, dict):
        raise RoutineError(f"{where}: a routine file is one JSON object (see docs/routines.md)")
    try:
        f = RoutineFile.model_validate(data)
    except ValidationError as exc:
        raise _problem(exc, where) from None
    kfs = tuple(Keyframe(t=k.t, angles=dict(k.angles), phase=k.phase, keypoints=k.keypoints, anchor=k.anchor)
                for k in f.keyframes)
    video = InstructorVideo(**f.video.model_dump()) if f.video else None
    reps = f.reps
    return Routine(
        name=f.name, title=f.title, description=f.description,
        joints={j: JointRule(rule.tolerance, rule.near) for j, rule in f.joints.items()}, keyframes=kfs,
        duration_s=f.duration_s if f.duration_s is not None else kfs[-1].t, loop=f.loop,
        reps=RepRule(joints=tuple(reps.joints), low=reps.low, high=reps.high, start=reps.start,
                     min_rep_s=reps.min_rep_s, sides=reps.sides, still=tuple(reps.still),
                     feet_planted=reps.feet_planted, against_gravity=reps.against_gravity,
                     repeats=reps.repeats, moves_with=tuple(reps.moves_with),
                     moves_with_share=moves_with_share(reps, kfs),
                     hips_stay_up=reps.hips_stay_up, in_place=reps.in_place) if reps else None,
        seated_variant=f.seated_variant, kind=f.kind, hold_s=f.hold_s, mirror=f.mirror, view=f.view, video=video,
        source=source, movement=f.movement, cues={k: c.model_dump() for k, c in f.cues.items()}, position=f.position)


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


STORE_ENV = "SILVERGYM_ROUTINE_STORE"
VIDEO_SUFFIX = ".avi"


def store_dir() -> Path:
    """The routine store: routines built on this box (`silvergym routine build`) and, in its
    videos/ folder, their instructors' videos by content hash."""
    return Path(os.environ.get(STORE_ENV) or Path.home() / ".local/share/silvergym/routines")


def stored() -> list[Path]:
    folder = store_dir()
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def video_path(r: Routine) -> Path | None:
    """Where the routine's video should be: videos/<sha256>.avi beside the routine file."""
    if r.video is None or not r.source or r.source.startswith("bundled:"):
        return None
    return Path(r.source).parent / "videos" / r.video.file_name


def for_participant(name_or_path: str, participant=None) -> Routine:
    """The routine as this participant does it (a [participants] entry of the config, or None
    for a guest): its seated variant for one who exercises seated. Scoring and the TV both ask
    here, so the screen shows the routine that is scored."""
    routine = load(name_or_path)
    if participant is not None and participant.seated and routine.seated_variant:
        return load(routine.seated_variant)
    return routine


def load(name_or_path: str) -> Routine:
    path = Path(name_or_path)
    if path.suffix == ".json" and path.exists():
        return parse(read_json(path), str(path))
    res = resources.files("common.coach").joinpath("routines").joinpath(f"{name_or_path}.json")
    if res.is_file():
        return parse(json.loads(res.read_text(encoding="utf-8")), f"bundled:{name_or_path}")
    in_store = store_dir() / f"{name_or_path}.json"
    if path.suffix != ".json" and in_store.is_file():
        return parse(read_json(in_store), str(in_store))
    raise RoutineError(f"no routine {name_or_path!r}: not a file, not in the store {store_dir()}, and the bundled "
                       f"ones are {', '.join(bundled())}")


def to_json(r: Routine) -> dict:
    out = {
        "name": r.name, "title": r.title, "description": r.description, "duration_s": r.duration_s,
        "loop": r.loop, "kind": r.kind, "mirror": r.mirror, "hold_s": r.hold_s, "view": r.view,
        "joints": {j: {"tolerance": rule.tolerance, "near": rule.near} for j, rule in r.joints.items()},
        "keyframes": [{"t": k.t, "phase": k.phase, "angles": k.angles,
                       **({"keypoints": k.keypoints} if k.keypoints else {}),
                       **({"anchor": list(k.anchor)} if k.anchor else {})} for k in r.keyframes],
    }
    if r.video:
        out["video"] = dataclasses.asdict(r.video)
    if r.reps:
        out["reps"] = {"joints": list(r.reps.joints), "low": r.reps.low, "high": r.reps.high,
                       "start": r.reps.start, "min_rep_s": r.reps.min_rep_s,
                       **({"sides": r.reps.sides} if r.reps.sides != "both" else {}),
                       **({"still": list(r.reps.still)} if r.reps.still else {}),
                       **({"feet_planted": True} if r.reps.feet_planted else {}),
                       **({"against_gravity": True} if r.reps.against_gravity else {}),
                       **({"repeats": True} if r.reps.repeats else {}),
                       **({"moves_with": list(r.reps.moves_with)} if r.reps.moves_with else {}),
                       **({"hips_stay_up": True} if r.reps.hips_stay_up else {}),
                       **({"in_place": True} if r.reps.in_place else {})}
    if r.seated_variant:
        out["seated_variant"] = r.seated_variant
    if r.movement:
        out["movement"] = r.movement
    if r.position:
        out["position"] = r.position
    if r.cues:
        out["cues"] = r.cues
    return out
