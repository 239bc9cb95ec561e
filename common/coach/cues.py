"""The words of each correction, per movement: the cue table (docs/routines.md "Cue table").

Scoring names a correction by a key, `<group>.<more|less>` when both sides need it ("knee.less")
or `<side>_<group>.<more|less>` for one side ("left_knee.less"); "more" opens the joint's angle
(for the signed side bend: leans further to the side asked), "less" closes it. What those words
should say depends on the movement: a hip that should close is "sit back, hips back" in a squat
and "lift your knee higher" in marching. So the words come from a table per movement
(common/coach/cues.json), chosen by the routine's `movement` (bundled routines: by name), and a
routine file can carry its own `cues`, which win. Every key of every scored joint and direction
has words, each naming the direction to move ("상체를 조금 더 세우세요", never "조금 덜
기울이세요"), and the phase of the movement it belongs to.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

DIRECTIONS = ("more", "less")
SIDES = ("left", "right")
SIDE_WORDS = {"ko": {"left": "왼쪽", "right": "오른쪽"}, "en": {"left": "left", "right": "right"}}
GENERIC = "joint"  # the movement whose words say only what the joint does (routines of unknown movement)
# Words that do not name a direction: "덜" (less) in Korean, "less" in English ("lean less").
_DIRECTIONLESS = {"ko": re.compile(r"덜"), "en": re.compile(r"\bless\b", re.IGNORECASE)}
KEY = re.compile(r"^(?:(left|right)_)?([a-z_]+)\.(more|less)$")


@dataclass(frozen=True)
class Cue:
    key: str  # the guidance key scoring gives, e.g. "knee.less" or "left_knee.less"
    joint: str  # the joint or, for both sides, the group ("knee")
    direction: str  # "more" | "less"
    phase: str  # the routine's phase(s) the cue belongs to ("" = any)
    ko: str
    en: str

    def words(self, locale: str) -> str:
        return self.ko if locale == "ko" else self.en


def directionless(words: str, locale: str) -> bool:
    """Whether cue words fail to name a direction (they say "less" instead of which way)."""
    return bool(_DIRECTIONLESS.get(locale, _DIRECTIONLESS["en"]).search(words))


@lru_cache(maxsize=1)
def _data() -> dict:
    return json.loads(resources.files("common.coach").joinpath("cues.json").read_text(encoding="utf-8"))


def movements() -> tuple[str, ...]:
    return tuple(_data()["movements"])


def movement_of(routine) -> str:
    """The movement whose words a routine's cues use: its own `movement`, a bundled routine's by
    name (a seated variant's too), else the generic joint words."""
    if getattr(routine, "movement", ""):
        return routine.movement
    return _data()["routines"].get(routine.name, GENERIC)


def _group(joint: str) -> tuple[str, str]:
    """("left", "knee") for "left_knee"; ("", "trunk_lean") for an unpaired angle."""
    for side in SIDES:
        if joint.startswith(side + "_"):
            return side, joint[len(side) + 1:]
    return "", joint


def coached_joints(movement: str, joints: dict) -> dict:
    """The joints of `joints` (name -> rule) whose group the movement's cue table covers: a routine
    built from a video of a known movement scores only those, so a squatter is never coached on
    how to hold their arms because the instructor's arms happened to swing. An unknown movement
    (or the generic one) keeps them all."""
    data = _data()["movements"]
    if movement not in data or movement == GENERIC:
        return dict(joints)
    return {joint: rule for joint, rule in joints.items() if _group(joint)[1] in data[movement]}


def table(routine) -> dict[str, Cue]:
    """Every cue key the routine's scoring can give, with its words: for each scored joint and
    direction, the one-side key and, for a paired joint, the both-sides key. The routine's own
    `cues` win over its movement's, the movement's over the generic joint words."""
    data = _data()["movements"]
    own = getattr(routine, "cues", {}) or {}
    chosen, generic = data.get(movement_of(routine), {}), data[GENERIC]
    out: dict[str, Cue] = {}
    for joint in routine.joints:
        side, group = _group(joint)
        for direction in DIRECTIONS:
            entry = chosen.get(group, {}).get(direction) or generic.get(group, {}).get(direction)
            if entry is None:
                continue
            keys = [(f"{group}.{direction}", "")] + ([(f"{joint}.{direction}", side)] if side else [])
            for key, one_side in keys:
                if key in own:
                    words = own[key]
                    out[key] = Cue(key, key.rsplit(".", 1)[0], direction, words.get("phase", ""), words["ko"],
                                   words["en"])
                elif one_side:
                    out[key] = Cue(key, joint, direction, entry["phase"],
                                   entry["ko_side"].format(side=SIDE_WORDS["ko"][one_side]),
                                   entry["en_side"].format(side=SIDE_WORDS["en"][one_side]))
                else:
                    out[key] = Cue(key, group, direction, entry["phase"], entry["ko"], entry["en"])
    return out


def words(routine, key: str, locale: str) -> str | None:
    """The words of correction `key` for this routine, or None when `key` is not one of its cues
    (a framing or pace hint: those are locale texts)."""
    cue = table(routine).get(key)
    return cue.words(locale) if cue else None


def corrections(routine, keys) -> list[dict]:
    """The corrections given, in order, as keys with their words in both languages and their
    phase (the summary, `score --json`); keys that are not cues (framing, pace) are left out, and
    a correction in the same words as one before it (two keys may say the same: a trunk tilted
    either way is told '상체를 가운데로 곧게 세우세요') is listed once, under its first key."""
    cues = table(routine)
    return distinct_words([{"key": key, "ko": cues[key].ko, "en": cues[key].en, "phase": cues[key].phase}
                           for key in dict.fromkeys(keys) if key in cues])


def distinct_words(corrections: list) -> list:
    """The corrections (dicts with ko and en words) with each wording once, first kept, in order."""
    seen, out = set(), []
    for c in corrections:
        said = (c.get("ko"), c.get("en")) if isinstance(c, dict) else c
        if said not in seen:
            seen.add(said)
            out.append(c)
    return out
