"""[class] #44: the roster's spots are places, and its names follow the places, whoever became a
member first.

The room is a COMPOSITE of real clips (not a real group scene), as the last fresh-eyes trial built
it (its compose7.py): B, squat_dumbbell_front_home at 0.7x further back in the middle (5 squats,
truth), partly behind A, the arms-up squats of squat_arms_up_front_studio near the camera at the
picture's right, the TV's left (3 squats, truth); dance_600's dancer walks through in front of both
from 4 s to 9 s. Roster: 1 = park (박순자), 2 = choi (최민수).

Before (main at f4d014c): A's first squat is counted only with his second (at 6.2 s), B's second
came at 4.4 s and the class's first members gathered from then; the dancer hid B at 6.1 s, his
follower was lost, and the gathering closed then with B alone: B spot 1 (박순자), A spot 2 (최민수),
both models, live and in `report --class`. Without the dancer A was ready at 6.27 s, within the
gathering (START_GATHER_S), and the names were right. Now whoever is in place with a repetition
under way as the gathering closes has a spot numbered with them by place, kept for them
(common/coach/spots.py ClassBook.reserved).
"""
from __future__ import annotations

import pytest

from tests.test_class_real import FPS, _clip, compose_room

SECONDS = 12.2
ROSTER = {"1": "park", "2": "choi"}
NAMES = {"park": "박순자", "choi": "최민수"}


def _layers() -> list[dict]:
    arms, arms_fps = _clip("dev/squat_arms_up_front_studio.mp4")
    return [
        dict(name="B: dumbbell squats, 0.7x, middle, partly behind A", clip=_clip("dev/squat_dumbbell_front_home.mp4"),
             crop=1.0, height=378, floor=528, x=354, span=(354, 1026), truth=5),
        # the studio clip's left half is a text block: its right part, where the man is
        dict(name="A: arms-up squats, 1x, the TV's left", clip=([f[:, 480:900] for f in arms], arms_fps),
             crop=1.0, height=540, floor=720, x=760, span=(760, 1180), truth=3),
        dict(name="dance_600's dancer walking through in front, 4-9 s", clip=_clip("dance_600.mp4"), crop=1.0,
             height=480, floor=720, x=lambda t: -480 + (t - 4.0) * 352 if 4.0 <= t < 9.0 else -2000, late_s=4.0,
             truth=None),
    ]


@pytest.fixture(scope="module")
def room():
    layers = _layers()
    return compose_room(SECONDS, layers), layers


@pytest.mark.parametrize("model", ["blazepose-full", "movenet-lightning"])
def test_the_roster_names_follow_the_places_when_a_passer_by_hides_the_first_member_as_the_class_starts(room, model):
    """Through `score`'s class code (score_class: the group front, ClassSession's ClassRoll, a
    PersonSession per spot with the roster's participant). Per person: the spot whose home is in
    their column (the nearer column wins where they overlap), its name, repetitions against the
    truth; the dancer never a member. Repetitions are printed, not asserted here (the dancer hides
    each of them for a squat: test_class_passer_in_front.py holds what is lost in view)."""
    from common import config as configuration
    from common.cli.score import score_class
    from common.coach import routine as routines
    from models import catalog
    from models.group import GroupEstimator

    frames, layers = room
    try:
        front = GroupEstimator(model)
    except catalog.ModelError as exc:
        pytest.skip(f"{exc} (make test fetches it)")
    cfg = configuration.load(None, {"scoring": {"mode": "group", "roster": ROSTER},
                                    "participants": {k: {"name": v} for k, v in NAMES.items()}})
    scored = score_class(((i / FPS, bgr) for i, bgr in enumerate(frames)), front, routines.load("squat"), cfg)
    homes = scored.roll.book.spots.homes
    members = layers[:2]

    def whose(x: float) -> int:  # the nearer of the columns it is in (A is drawn over B)
        inside = [k for k, m in enumerate(members) if m["span"][0] <= x < m["span"][1]]
        return max(inside) if inside else -1

    who = {spot: whose(homes[spot]) for spot in scored.sessions}
    truth = {1: 1, 2: 0}  # the TV's left first: A (the picture's right), then B
    print(f"\n{model}, COMPOSITE room of real clips, roster {ROSTER}:")
    for spot in sorted(set(who) | set(truth)):
        got = scored.sessions[spot] if spot in scored.sessions else None
        person = members[who[spot]]["name"] if who.get(spot, -1) >= 0 else "nobody's column"
        named = got.participant.name if got is not None and got.participant else "-"
        reps = got.scorer.summary()["reps"] if got is not None else "-"
        print(f"  spot {spot}: {person}, named {named}, {reps} squats (truth {members[who[spot]]['truth'] if who.get(spot, -1) >= 0 else '-'}); "
              f"truth: {members[truth[spot]]['name'] if spot in truth else 'no spot'}, named "
              f"{NAMES[ROSTER[str(spot)]] if str(spot) in ROSTER else '-'}")
    print(f"  never members (truth: the dancer): {scored.roll.never_members()} tracks followed and never given a spot; "
          f"spots kept for someone who never became a member: {sorted(scored.roll.book.reserved)} (truth: none)")
    assert who == truth, "spot 1 the TV's leftmost squatter (A), spot 2 the next (B); nobody else a spot"
    assert {spot: s.participant.name for spot, s in scored.sessions.items()} == {1: "박순자", 2: "최민수"}
    assert not scored.roll.book.reserved
