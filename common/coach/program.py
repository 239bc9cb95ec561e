"""Program files (JSON, documented in docs/programs.md): a 실버체조 program of several movements
in a row, each part a routine (bundled, stored, or built from a stretch of one instructor video)
with its target repetitions or time and a rest after it.

The program-level score is defined here once (PROGRAM_SCORE_DEFINITION, program_score): the
summary, the TV, the report and the web page all read it from the session's summary.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from common.coach import routine as routines


class ProgramError(ValueError):
    pass


MAX_PARTS = 50
MAX_REST_S = 600.0
DEFAULT_REST_S = 10.0
STRETCH_OVERLAP_S = 1.0  # how far a part's stretch may start before the previous one ends (a corrected cut)
# Korean names too (a centre names its video 아침_실버체조.mp4): Hangul syllables, as file names and
# the summary's program field (a string of at most 64 characters) carry them.
NAME_PATTERN = r"^[a-z0-9가-힣][a-z0-9가-힣_-]{0,63}$"
NAME_WORDS = "lower-case letters a-z, 한글, digits, _ and -, at most 64"

PROGRAM_SCORE_DEFINITION = (
    "Program score: the average of the posture scores of the movements that were scored; a movement the "
    "person rested through or skipped is left out, never counted as wrong.")


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is named, not silently ignored


class LocalNames(_FileModel):
    ko: str = Field(min_length=1, max_length=60, description="The words in Korean, as the TV shows them.")
    en: str = Field(min_length=1, max_length=60, description="The words in English.")


class PartFile(_FileModel):
    name: LocalNames = Field(description="The movement's name, e.g. {\"ko\": \"팔 들어올리기\", \"en\": \"Arm raises\"}.")
    routine: str = Field(min_length=1, description="The routine scored in this part: a bundled or stored routine's "
                                                   "name, or a routine file (a relative path is read beside the "
                                                   "program file).")
    start_s: float | None = Field(None, ge=0, description="Where this part starts in the program's instructor video, "
                                                          "seconds (with end_s; none: the part has no stretch of it).")
    end_s: float | None = Field(None, gt=0, description="Where this part ends in the program's instructor video, "
                                                        "seconds; after start_s.")
    reps: int | None = Field(None, ge=1, le=1000, description="Target repetitions the TV shows (none: not counted "
                                                              "toward a target). The part does not end on it.")
    duration_s: float | None = Field(None, gt=0, le=3600, description="How long the part lasts, seconds (none: "
                                                                      "end_s - start_s, else the routine's duration).")
    rest_s: float = Field(DEFAULT_REST_S, ge=0, le=MAX_REST_S, description="Seconds of rest after this part "
                                                                           "(not after the last).")
    same_as: int | None = Field(None, ge=0, description="Written by `silvergym program build`: the index (0-based) "
                                                        "of an earlier part doing the same movement (a repeat).")

    @model_validator(mode="after")
    def _stretch(self):
        if (self.start_s is None) != (self.end_s is None):
            raise ValueError("give both start_s and end_s (a stretch of the instructor video) or neither")
        if self.start_s is not None and not self.end_s > self.start_s:
            raise ValueError(f"end_s ({self.end_s:g}) must be after start_s ({self.start_s:g})")
        return self


class ProgramFile(_FileModel):
    """A program file (docs/programs.md); docs/schemas/program.schema.json is generated from this."""
    name: str = Field(pattern=NAME_PATTERN, description="Program name, as `--program NAME` and the summary give it: "
                                                        "lower-case letters, 한글, digits, _ and -.")
    title: LocalNames = Field(description="The program's title per locale, e.g. {\"ko\": \"아침 실버체조\", "
                                          "\"en\": \"Morning exercises\"}.")
    video: str | None = Field(None, description="The instructor's video of the whole program (a relative path is read "
                                                "beside the program file); parts' start_s/end_s are stretches of it.")
    parts: list[PartFile] = Field(min_length=1, max_length=MAX_PARTS, description="The movements, in order.")

    @model_validator(mode="after")
    def _stretches_in_order(self):
        # Parts play in order, so their stretches of the video must too; a cut may overlap the
        # previous stretch a little (the installer's corrections, the participant's lag), not more.
        before = None
        for i, part in enumerate(self.parts):
            if part.start_s is None:
                continue
            if before is not None and part.start_s < self.parts[before].end_s - STRETCH_OVERLAP_S:
                prev = self.parts[before]
                raise ValueError(f"part {i + 1}: start_s ({part.start_s:g}) is before part {before + 1}'s stretch "
                                 f"({prev.start_s:g}-{prev.end_s:g} s) ends: the parts go in the video's order")
            before = i
        return self

    @model_validator(mode="after")
    def _repeats_point_back(self):
        for i, part in enumerate(self.parts):
            if part.same_as is not None and part.same_as >= i:
                # same_as is 0-based in the file (as build writes it); the part it sits in is counted from 1.
                raise ValueError(f"part {i + 1}: same_as ({part.same_as}) must name an earlier part (0-{i - 1}: "
                                 "same_as counts parts from 0)"
                                 if i else "part 1: same_as: the first part cannot repeat an earlier one")
        return self


@dataclass(frozen=True)
class Part:
    name: dict[str, str]
    routine: routines.Routine
    routine_ref: str  # as the file gives it
    duration_s: float
    rest_s: float
    reps: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    same_as: int | None = None


@dataclass(frozen=True)
class Program:
    name: str
    title: dict[str, str]
    parts: tuple[Part, ...]
    video: Path | None = None
    source: str = ""

    def schedule(self) -> list[tuple[float, float, float]]:
        """(start, end, end of the rest after it) of each part in program time, without skips.
        The last part has no rest."""
        out, t = [], 0.0
        for i, part in enumerate(self.parts):
            rest = part.rest_s if i < len(self.parts) - 1 else 0.0
            out.append((t, t + part.duration_s, t + part.duration_s + rest))
            t += part.duration_s + rest
        return out

    @property
    def duration_s(self) -> float:
        return self.schedule()[-1][2]

    def video_time(self, t: float) -> float | None:
        """Where in its instructor video the program is at program time t (without skips): the TV
        plays each part's stretch (start_s..end_s) and, in the rest after it, the program holds while
        the video's own pause there goes on; between two parts with no rest the video's few frames
        there are left out, and before the first part all of it. None where the program plays no
        stretch of its video (a part without start_s, or past the end)."""
        for part, (start, end, rest_end) in zip(self.parts, self.schedule()):
            if t < end:
                return None if part.start_s is None or t < start else part.start_s + (t - start)
            if t < rest_end:
                return None if part.end_s is None else part.end_s + (t - end)
        return None

    def video_frames(self, fps: float, frames: int) -> list[int | None]:
        """A recording of `frames` at `fps` made on the instructor video's own clock (someone who
        followed the video itself, or the video itself) put on the program's clock: per frame of
        program time, the recording's frame then (video_time), None where there is none."""
        out = []
        for k in range(int(self.duration_s * fps)):
            v = self.video_time(k / fps)
            i = None if v is None else int(round(v * fps))
            out.append(i if i is not None and 0 <= i < frames else None)
        return out


def program_score(parts: list[dict]) -> float | None:
    """THE program-level score (PROGRAM_SCORE_DEFINITION): the mean of the scored parts' scores,
    None when no part was scored. `parts` are the summary's per-part entries."""
    scores = [p["score"] for p in parts if p.get("scored") and p.get("score") is not None]
    return round(sum(scores) / len(scores), 1) if scores else None


def field_words(loc) -> str:
    """Where in a program file, as staff count and the file spells it: ('parts', 2, 'start_s') is
    "part 3: start_s" (parts counted from 1, as `program check` lists them), ('title', 'ko') "title.ko"."""
    loc = [str(x) for x in loc]
    if len(loc) >= 2 and loc[0] == "parts" and loc[1].isdigit():
        rest = ".".join(loc[2:])
        return f"part {int(loc[1]) + 1}" + (f": {rest}" if rest else "")
    return ".".join(loc)


def _got(value) -> str:
    """The value a field had, short enough for one line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# What an object-valued field must look like, in the file's own spelling (pydantic would name the
# model class, e.g. "LocalNames", which no file contains).
_OBJECT_WORDS = {"name": '{"ko": "...", "en": "..."} (the words in Korean and English)',
                 "title": '{"ko": "...", "en": "..."} (the words in Korean and English)'}


def _problem(exc: ValidationError, where: str) -> ProgramError:
    err = exc.errors()[0]
    key = field_words(err["loc"])
    if err["type"] == "missing":
        return ProgramError(f"{where}: the field '{key}' is missing (see docs/programs.md)")
    if err["type"] == "extra_forbidden":
        return ProgramError(f"{where}: {key}: unknown key (see docs/programs.md)")
    if err["type"] == "value_error":
        return ProgramError(f"{where}: {(key + ': ') if key else ''}{err['msg'].removeprefix('Value error, ')}")
    if err["type"] in ("model_type", "model_attributes_type", "dict_type"):
        last = str(err["loc"][-1]) if err["loc"] else ""
        return ProgramError(f"{where}: {key}: give {_OBJECT_WORDS.get(last, 'a JSON object {...}')}, "
                            f"not {_got(err.get('input'))} (see docs/programs.md)")
    said = err["msg"].replace("Input should be", "must be").replace("Input should", "must")  # the file's words
    return ProgramError(f"{where}: {key}: {said} (got {_got(err.get('input'))})")


def _resolve(ref: str, base: Path | None) -> str:
    """A routine or video named relative to the program file is read beside it."""
    if base is not None and ref.endswith((".json", ".mp4", ".avi", ".mkv", ".mov", ".webm")) \
            and not Path(ref).is_absolute() and (base / ref).exists():
        return str(base / ref)
    return ref


def parse(data, source: str = "") -> Program:
    where = source or (data.get("name", "program") if isinstance(data, dict) else "program")
    if not isinstance(data, dict):
        raise ProgramError(f"{where}: a program file is one JSON object (see docs/programs.md)")
    try:
        f = ProgramFile.model_validate(data)
    except ValidationError as exc:
        raise _problem(exc, where) from None
    base = Path(source).parent if source and not source.startswith("bundled:") else None
    parts = []
    for i, p in enumerate(f.parts):
        try:
            routine = routines.load(_resolve(p.routine, base))
        except routines.RoutineError as exc:
            raise ProgramError(f"{where}: part {i + 1}: routine: {exc}") from None
        duration = p.duration_s or ((p.end_s - p.start_s) if p.start_s is not None else routine.duration_s)
        if not duration > 0:
            raise ProgramError(f"{where}: part {i + 1}: the routine {routine.name!r} lasts 0 s; give duration_s")
        parts.append(Part(name=p.name.model_dump(), routine=routine, routine_ref=p.routine, duration_s=float(duration),
                          rest_s=p.rest_s, reps=p.reps, start_s=p.start_s, end_s=p.end_s, same_as=p.same_as))
    for i, part in enumerate(parts):
        # A repeat is of a counted movement, by a counted part: its repetitions are compared with the
        # first's; a timed part (its routine has no repetition rule) has none (program build never
        # writes one, and a file naming one passed check and reached the carers' pages).
        if part.same_as is None:
            continue
        named = parts[part.same_as]
        if part.routine.reps is None or named.routine.reps is None:
            timed = i + 1 if part.routine.reps is None else part.same_as + 1
            raise ProgramError(f"{where}: part {i + 1}: same_as ({part.same_as}, counted from 0: part {part.same_as + 1}) "
                               f"joins a timed part (part {timed}: its routine {parts[timed - 1].routine.name!r} counts "
                               "nothing) to a repeat; only counted parts repeat one another: remove same_as")
    video = Path(_resolve(f.video, base)) if f.video else None
    return Program(name=f.name, title=f.title.model_dump(), parts=tuple(parts), video=video, source=source)


def stretch_problem(program: Program, video_s: float) -> str:
    """The first part whose stretch is not within the program's video of `video_s` seconds, in one
    line naming the part and the field; "" when all fit (a rounding's 0.5 s of slack)."""
    for i, part in enumerate(program.parts):
        for key, at in (("start_s", part.start_s), ("end_s", part.end_s)):
            if at is not None and at > video_s + 0.5:
                return (f"part {i + 1}: {key} ({at:g}) is past the end of the video {program.video} ({video_s:.1f} s); "
                        "fix the cut points in the file")
    return ""


def video_seconds(path: Path) -> float | None:
    """A video's length from its header (frames / fps); None when the header does not say."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        frames, fps = cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0, cap.get(cv2.CAP_PROP_FPS) or 0
    finally:
        cap.release()
    return frames / fps if frames > 0 and fps > 0 else None


def bundled() -> list[str]:
    folder = resources.files("common.coach").joinpath("programs")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def store_dir() -> Path:
    """Programs built on this box live in the routine store's programs/ folder."""
    return routines.store_dir() / "programs"


def load(name_or_path: str) -> Program:
    path = Path(name_or_path)
    try:
        if path.suffix == ".json" and path.exists():
            return parse(routines.read_json(path), str(path))
        res = resources.files("common.coach").joinpath("programs").joinpath(f"{name_or_path}.json")
        if res.is_file():
            return parse(json.loads(res.read_text(encoding="utf-8")), f"bundled:{name_or_path}")
        in_store = store_dir() / f"{name_or_path}.json"
        if path.suffix != ".json" and in_store.is_file():
            return parse(routines.read_json(in_store), str(in_store))
    except routines.RoutineError as exc:  # the file itself unreadable (not UTF-8, not JSON)
        raise ProgramError(str(exc)) from None
    raise ProgramError(f"no program {name_or_path!r}: not a file, not in the store {store_dir()}, and the bundled "
                       f"ones are {', '.join(bundled())}")


def to_json(p: Program) -> dict:
    out = {"name": p.name, "title": p.title, "parts": []}
    if p.video is not None:
        out["video"] = str(p.video)
    for part in p.parts:
        entry = {"name": part.name, "routine": part.routine_ref}
        if part.start_s is not None:
            entry.update(start_s=part.start_s, end_s=part.end_s)
        entry.update(reps=part.reps, duration_s=part.duration_s, rest_s=part.rest_s)
        if part.same_as is not None:
            entry["same_as"] = part.same_as
        out["parts"].append(entry)
    return out
