"""[class] #44 (fault 3 of the last fresh-eyes trial): a squatter half hidden on one side behind a
neighbour's picture is scored on the side seen.

The room is a COMPOSITE of real clips (not a real group scene): A, squat_dumbbell_front_home at 1x
at the picture's left (5 squats, truth), his left hip, knee, ankle and arm behind B's picture from
x = 500 (the middle of his hips); B, squat_side_studio at the same height beside him (8 squats,
truth), drawn over him.

Measured (main at f4d014c, readings recorded once): MoveNet reads A's hidden side as unread (left
knee 0.30, ankle 0.16 median score) and counts 5 of 5 (88.4 points). BlazePose guesses the hidden
leg with a confident score (left ankle 0.53 median) and places the hidden ankle about half the
standing hip height above the seen one at each squat's bottom (0.50-0.58 of it): the squat
counter took that for a foot lifted, a knee lift rather than a squat (common/coach/reps.py
_Counter._foot_lifted_instead: 5 of his excursions rejected as "another_foot"), and A scored
0.0 with 0 squats, while his hips came down 0.41-0.62 of their standing height, as a squat's do.
Now a foot read lifted is a knee lift only if the hips did not come down what the knees' bend
implies (a knee lift's standing leg keeps them up): BlazePose A 5 of 5 (83.5 points), B 7 of 8
as before; MoveNet unchanged (A 5, 88.4; B 7).
"""
from __future__ import annotations

import pytest

from tests.test_class_real import FPS, _clip, compose_room

SECONDS = 12.1
EDGE = 500  # where B's picture starts: over A's left hip


@pytest.fixture(scope="module")
def room():
    layers = [dict(name="A: dumbbell squats, 1x, left half hidden", clip=_clip("dev/squat_dumbbell_front_home.mp4"),
                   crop=1.0, height=540, floor=640, x=0, span=(0, EDGE), truth=5),
              dict(name="B: side squats, 1x, drawn over A's left side", clip=_clip("dev/squat_side_studio.mp4"),
                   crop=1.0, height=540, floor=640, x=EDGE, span=(EDGE, 1280), truth=8)]
    return compose_room(SECONDS, layers), layers


@pytest.mark.parametrize("model", [
    "movenet-lightning",
    "blazepose-full"])
def test_a_squatter_half_hidden_by_a_neighbour_is_counted_on_the_side_seen(room, model):
    from common.cli.score import score_class
    from common.coach import routine as routines
    from models import catalog
    from models.group import GroupEstimator

    frames, layers = room
    try:
        front = GroupEstimator(model)
    except catalog.ModelError as exc:
        pytest.skip(f"{exc} (make test fetches it)")
    scored = score_class(((i / FPS, bgr) for i, bgr in enumerate(frames)), front, routines.load("squat"))
    homes = scored.roll.book.spots.homes
    found = {}
    print(f"\n{model}, COMPOSITE room of real clips, one squatter half hidden:")
    for spot in sorted(scored.sessions):
        k = next((k for k, m in enumerate(layers) if m["span"][0] <= homes[spot] < m["span"][1]), None)
        got = scored.sessions[spot].scorer.summary()
        found[k] = got
        print(f"  spot {spot} = {layers[k]['name'] if k is not None else 'nobody'}: {got['reps']} squats "
              f"(truth {layers[k]['truth'] if k is not None else '-'}), score {got['score']:.1f}")
    print(f"  never members: {scored.roll.never_members()} tracks; members missing: "
          f"{[m['name'] for k, m in enumerate(layers) if k not in found] or 'none'}")
    assert sorted(k for k in found if k is not None) == [0, 1], "each squatter one spot"
    assert found[0]["reps"] >= layers[0]["truth"] - 1, "the half-hidden squatter counted on the side seen"
