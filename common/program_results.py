"""A program session's results movement by movement, read the same way by the TV's summary, the
report and the carers' web page: which movement is weakest (by the program score's own figure,
each part's score: common/coach/program.py), what a movement is called, and one movement's
scores over a week of sessions.

Everything here reads a stored or received summary ({"parts": [...], "weakest_part": i}) and
takes nothing on trust: a part that is not a map, or a score that is not a number, is not judged.
Here in common/, not common/coach: the central side reads the record and may not import coaching.
"""
from __future__ import annotations

import math
import re

WEEK_S = 7 * 86400.0
# A weakest joint (common/coach/cues.py to_practise) or movement is named to practise, on the TV and
# in the carers' words, only when its share in position is below this: a 98 is not a weakness.
PRACTISE_BELOW = 0.9
# A correction's key: "[side_]joint.more|less" (common/coach/cues.py's table).
CORRECTION_KEY = re.compile(r"^(?:(left|right)_)?([a-z_]+)\.(more|less)$")
# A session's repetitions are shallow when their depth against the routine's target (the counter's
# median share: common/coach/reps.py RepCounter.depth) is below this: the target is the instructor's
# full movement, and 0.9 of it is a full repetition. One rule for every place that says so (score's
# line, the TV's summary and practise line, the carers' report): shallow_depth.
SHALLOWER_THAN = 0.9


def shallow_depth(summary) -> dict | None:
    """The summary's `rep_depth` ({"share", "degrees", "target_degrees"}) when its repetitions were
    shallower than the routine's target (SHALLOWER_THAN), else None (deep enough, no repetition, or
    not a map of numbers)."""
    depth = summary.get("rep_depth") if isinstance(summary, dict) else None
    if not isinstance(depth, dict):
        return None
    share = depth.get("share")
    if not isinstance(share, (int, float)) or isinstance(share, bool) or not math.isfinite(share):
        return None
    return depth if share < SHALLOWER_THAN else None


# Movements done with one side at a time by design (a one-leg stand, the Senior Fitness Test's arm
# curl with one arm): their left and right are not meant to match.
ONE_SIDED_MOVEMENTS = frozenset({"one_leg_balance", "arm_curl"})


def compares_sides(part) -> bool:
    """Whether a program part's left and right ranges of motion are meant to match, so that a
    difference is worth a physiotherapist's look: a recognised movement (the part's `movement`,
    common/coach/cues.py) done with both sides alike. A part the box did not recognise (a free
    dance: its arms move as the music takes them) or a record from before the field: no."""
    movement = part.get("movement") if isinstance(part, dict) else None
    return isinstance(movement, str) and bool(movement) and movement not in ONE_SIDED_MOVEMENTS


def joint_to_practise(summary: dict) -> str:
    """The correction key a session summary names as the thing to practise: going deeper (its
    `deeper` key) when its repetitions were shallower than the routine's target (shallow_depth);
    else the posture's advice for its weakest joint (SessionScorer.posture), when that joint's
    figure is below PRACTISE_BELOW; "" otherwise. Here, not in common/coach, since the central side reads it too."""
    deeper = summary.get("deeper") if isinstance(summary, dict) else None
    if shallow_depth(summary) and isinstance(deeper, str) and CORRECTION_KEY.match(deeper):
        return deeper  # shallower than the target: going deeper, whatever joint is weakest within it
    joints, weakest, advice = summary.get("joints"), summary.get("weakest"), summary.get("advice")
    if not (isinstance(joints, dict) and isinstance(advice, str) and CORRECTION_KEY.match(advice)
            and weakest in joints):
        return ""
    try:
        return advice if float(joints[weakest]) < PRACTISE_BELOW else ""
    except (TypeError, ValueError):
        return ""


def judged(part) -> bool:
    """Whether a part has a score to rank it by: scored, and its score a finite number."""
    if not isinstance(part, dict) or part.get("scored") is not True:
        return False
    score = part.get("score")
    return isinstance(score, (int, float)) and not isinstance(score, bool) and math.isfinite(score)


def weakest_first(parts) -> list[dict]:
    """The parts weakest first by their score (ties in program order), then the ones not judged
    (rested through, skipped) in program order: a rest is not a weakness."""
    good = [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []
    scored = sorted((p for p in good if judged(p)), key=lambda p: float(p["score"]))
    return scored + [p for p in good if not judged(p)]


def movement_name(part, locale: str, fallback: str = "") -> str:
    """A part's name in `locale` (else the other language's, else its routine's name)."""
    name = part.get("name") if isinstance(part, dict) else None
    name = name if isinstance(name, dict) else {}
    for key in (locale, "ko", "en"):
        if isinstance(name.get(key), str) and name[key]:
            return name[key]
    routine = part.get("routine") if isinstance(part, dict) else None
    return routine if isinstance(routine, str) and routine else fallback


def movement_label(part, parts, locale: str, fallback: str = "") -> str:
    """A part's name as a list shows it: with its place in the program ("3. 팔 들어올리기") when
    another part of `parts` has the same name (a program may do one movement twice)."""
    name = movement_name(part, locale, fallback)
    same = [p for p in parts if isinstance(p, dict) and movement_name(p, locale, fallback) == name] \
        if isinstance(parts, list) else []
    place = next((i for i, p in enumerate(parts) if p is part), None) if len(same) > 1 else None
    return name if place is None else f"{place + 1}. {name}"


def movement_key(part) -> tuple[str, str]:
    """Which movement a part is, across sessions: its routine and its Korean name (the same
    routine may be two movements of one program, e.g. arm raises to the front and to the side)."""
    if not isinstance(part, dict):
        return ("", "")
    return str(part.get("routine", "")), movement_name(part, "ko")


def weakest(summary) -> dict | None:
    """The summary's weakest part (summary.weakest_part: an index into its parts), when it names
    a judged one."""
    parts = summary.get("parts") if isinstance(summary, dict) else None
    index = summary.get("weakest_part") if isinstance(summary, dict) else None
    if not isinstance(parts, list) or not isinstance(index, int) or isinstance(index, bool) \
            or not 0 <= index < len(parts) or not judged(parts[index]):
        return None
    return parts[index]


def to_practise(summary) -> dict | None:
    """The weakest part when its score is below PRACTISE_BELOW: the one movement named to practise."""
    worst = weakest(summary)
    return worst if worst is not None and float(worst["score"]) < 100.0 * PRACTISE_BELOW else None


def week_scores(sessions: list[dict], part: dict, until_unix: float) -> list[float | None]:
    """The movement `part`'s score in each program session of the week up to `until_unix`
    (oldest first; None where it was rested or skipped). `sessions`: stored records with
    started_unix and summary."""
    key = movement_key(part)
    out = []
    for s in sessions:
        started = s.get("started_unix")
        if not isinstance(started, (int, float)) or not until_unix - WEEK_S < started <= until_unix:
            continue
        parts = (s.get("summary") or {}).get("parts")
        same = [p for p in parts if movement_key(p) == key] if isinstance(parts, list) else []
        if same:
            out.append(float(same[0]["score"]) if judged(same[0]) else None)
    return out


def score_withheld(summary: dict, fall: str = "") -> str:
    """Why a session's summary shows no score, or '' when it shows one: the one rule of every
    summary screen (one person's, a program's, each member's of a class). 'fall': a fall cut the
    session short (common/coach/session.py cut_short_by_fall) or the carer was called in it
    (`fall`: fall_in_session's answer, '' for a class member's own summary); its number measures
    the fall. 'unread': read too sparsely to trust (common/coach/session.py PoseReadings).
    'side_view': the movement was seen but the model cannot measure it from where the person stood
    (seen_not_measured: a squat from the front read by a 2D model); they are to stand side on.
    'idle': nobody went through the movement (exercised false). A fall comes first: after one,
    what the person reads is that help was called and to rest, not how the box read them.
    Here in common/ so that every printed line (the demo's) says what the TV says."""
    if summary.get("fell") is True or fall == "called":
        return "fall"
    if summary.get("too_few_poses") is True:
        return "unread"
    # Whatever `exercised` says (sessions stored before it followed this field said true): nothing
    # was counted and no figure measures the movement.
    if summary.get("seen_not_measured"):
        return "side_view"
    if summary.get("exercised") is False:
        return "idle"
    return ""
