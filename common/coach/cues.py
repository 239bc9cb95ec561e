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

from common.program_results import CORRECTION_KEY, PRACTISE_BELOW, joint_to_practise  # noqa: F401 - one bar for joints and movements; read from here too

DIRECTIONS = ("more", "less")
SIDES = ("left", "right")
SIDE_WORDS = {"ko": {"left": "왼쪽", "right": "오른쪽"}, "en": {"left": "left", "right": "right"}}
GENERIC = "joint"  # the movement whose words say only what the joint does (routines of unknown movement)
# Words that do not name a direction: "덜" (less) in Korean, "less" in English ("lean less").
_DIRECTIONLESS = {"ko": re.compile(r"덜"), "en": re.compile(r"\bless\b", re.IGNORECASE)}
KEY = CORRECTION_KEY


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


def corrections(routine, keys, advice: str = "") -> list[dict]:
    """The corrections given, in order, as keys with their words in both languages and their
    phase (the summary, `score --json`); keys that are not cues (framing, pace) are left out, and
    a correction in the same words as one before it (two keys may say the same: a trunk tilted
    either way is told '상체를 가운데로 곧게 세우세요') is listed once, under its first key.
    `keys`: every Score's guidance in order (repeats count how long the TV said it), or a map of
    key -> how many Scores said it. Of two opposite corrections for one joint, one is kept
    (one_direction_per_joint; `advice`: the summary's advice for its weakest joint, kept first)."""
    said = dict(keys) if isinstance(keys, dict) else _counted(keys)
    cues = table(routine)
    listed, frames = [], {}
    for key, n in said.items():
        if key not in cues:
            continue
        entry = {"key": key, "ko": cues[key].ko, "en": cues[key].en, "phase": cues[key].phase}
        first = next((c for c in listed if (c["ko"], c["en"]) == (entry["ko"], entry["en"])), None)
        if first is None:
            listed.append(entry)
        frames[(first or entry)["key"]] = frames.get((first or entry)["key"], 0) + int(n)  # one wording, one weight
    return one_direction_per_joint(listed, frames, advice)


def _counted(keys) -> dict[str, int]:
    out: dict[str, int] = {}
    for key in keys:
        out[key] = out.get(key, 0) + 1
    return out


def _joints_of(key: str) -> tuple[str, frozenset]:
    """A correction key's direction and the joints it moves: one side's joint, or both of a pair
    ("elbow.more": the left and the right elbow), or an unpaired angle ("trunk_lean")."""
    m = KEY.match(key)
    if not m:
        return "", frozenset()
    side, group, direction = m.groups()
    joints = {f"{side}_{group}"} if side else {group, *(f"{s}_{group}" for s in SIDES)}
    return direction, frozenset(joints)


def one_direction_per_joint(listed: list, frames: dict | None = None, advice: str = "") -> list:
    """`listed` (correction dicts with a key, in the order given) without a correction opposite to
    one kept for the same joint: "왼쪽 팔을 내리세요" beside "왼쪽 팔을 더 높이 올리세요", or
    "팔꿈치를 쭉 펴세요" beside "…살짝 굽히세요", read as two contradicting orders in one summary
    (each was right at its moment: the arm low at the top, then high at the bottom). Kept, of two
    that contradict: the summary's `advice` (its weakest joint's correction, the one the TV names to
    practise), else the one the TV said for more Scores (`frames`: key -> count; how long the person
    was told it), else the one said first. The kept ones stay in the order given."""
    frames = frames or {}
    order = {c["key"]: i for i, c in enumerate(listed)}
    ranked = sorted(listed, key=lambda c: (c["key"] != advice, -frames.get(c["key"], 0), order[c["key"]]))
    kept: list = []
    for c in ranked:
        direction, joints = _joints_of(c["key"])
        if not any(d != direction and joints & j for d, j in (_joints_of(k["key"]) for k in kept)):
            kept.append(c)
    return sorted(kept, key=lambda c: order[c["key"]])


def distinct_words(corrections: list) -> list:
    """The corrections (dicts with ko and en words) with each wording once, first kept, in order."""
    seen, out = set(), []
    for c in corrections:
        said = (c.get("ko"), c.get("en")) if isinstance(c, dict) else c
        if said not in seen:
            seen.add(said)
            out.append(c)
    return out


# Plain words for a part of a program whose movement is not recognised (`silvergym program build`,
# common/coach/segment.py recognise): each joint group and direction said the way a person would
# say it (no "고관절"), and a phase: the direction that takes the joint toward the far end of the
# movement belongs there ("turn"), the other to coming back ("start"), so the two directions of
# one joint never sound like two contradicting orders.
PLAIN = {
    "knee": {"more": ("무릎을 더 펴세요", "straighten your knees more", "{side} 무릎을 더 펴세요", "straighten your {side} knee more"),
             "less": ("무릎을 더 굽히세요", "bend your knees more", "{side} 무릎을 더 굽히세요", "bend your {side} knee more")},
    "hip": {"more": ("몸을 더 펴세요", "open up your body more", "{side} 다리와 몸을 더 펴세요",
                     "open up between your body and {side} leg"),
            "less": ("가슴과 허벅지를 더 가까이 모으세요", "bring your chest and thighs closer",
                     "{side} 허벅지를 가슴 쪽으로 더 모으세요", "bring your {side} thigh closer to your chest")},
    "shoulder": {"more": ("팔을 더 올리세요", "raise your arms higher", "{side} 팔을 더 올리세요", "raise your {side} arm higher"),
                 "less": ("팔을 더 내리세요", "lower your arms more", "{side} 팔을 더 내리세요", "lower your {side} arm more")},
    "elbow": {"more": ("팔꿈치를 더 펴세요", "straighten your elbows more", "{side} 팔꿈치를 더 펴세요",
                       "straighten your {side} elbow more"),
              "less": ("팔꿈치를 더 굽히세요", "bend your elbows more", "{side} 팔꿈치를 더 굽히세요", "bend your {side} elbow more")},
    "trunk_lean": {"more": ("상체를 조금 더 앞으로 숙이세요", "lean your upper body a little further forward", "", ""),
                   "less": ("상체를 조금 더 세우세요", "bring your upper body a little more upright", "", "")},
    "trunk_tilt": {"more": ("옆으로 조금 더 기울이세요", "bend a little further to the side", "", ""),
                   "less": ("상체를 가운데로 바로 세우세요", "bring your body back up to the middle", "", "")},
}
PLAIN_PHASES = {"turn": ("가장 많이 움직일 때 ", "At the far end, "), "start": ("돌아오면서 ", "Coming back, "),
                "hold": ("동작 내내 ", "Throughout, ")}


def plain_cues(joints, closes_at_turn: dict) -> dict:
    """A routine's own `cues` for a movement not recognised: for each joint and direction, plain
    words naming the direction and the phase it belongs to. closes_at_turn[joint]: True when the
    joint's angle closes toward the movement's far end ("less" there, "more" coming back), False
    when it opens, "held" for a joint the movement holds still (both directions "throughout"),
    None when it moves but not with a repetition (a dance: phase "", the words alone)."""
    out = {}
    for joint in joints:
        side, group = _group(joint)
        if group not in PLAIN:
            continue
        closes = closes_at_turn.get(joint)
        for direction in DIRECTIONS:
            ko, en, ko_side, en_side = PLAIN[group][direction]
            phase = ("" if closes is None else "hold" if closes == "held"
                     else "turn" if (direction == "less") == closes else "start")
            pre_ko, pre_en = PLAIN_PHASES.get(phase, ("", ""))

            def said(words_ko: str, words_en: str) -> dict:
                en_words = pre_en + words_en if pre_en else words_en[:1].upper() + words_en[1:]
                return {"ko": pre_ko + words_ko, "en": en_words, "phase": phase}

            out[f"{group}.{direction}"] = said(ko, en)
            if side and ko_side:
                out[f"{joint}.{direction}"] = said(ko_side.format(side=SIDE_WORDS["ko"][side]),
                                                   en_side.format(side=SIDE_WORDS["en"][side]))
    return out


# A session's weakest joint is named with its correction in the summary when it was in position
# less than PRACTISE_BELOW of the judged moments (its figure; the same bar names a program's
# weakest movement). The number and the strip are the mean over the scored joints (one judgement,
# docs/scoring.md), so one joint off through two squats of five (the demo's lean: trunk 0.84, the
# others 0.92-1.0) leaves them green at 94; the summary's words say what that one joint needs
# instead of a worst-joint colour the number does not share.


def to_practise(summary: dict) -> str:
    """The correction key a session summary names as the thing to practise (the weakest joint's
    advice below PRACTISE_BELOW): common/program_results.py joint_to_practise, read by the central
    side too."""
    return joint_to_practise(summary)
