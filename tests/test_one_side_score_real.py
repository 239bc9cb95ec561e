"""An alternating movement done with one side only (a march with the left knee alone: the right leg
held still, a painful hip, a stroke) is scored on the lifts that were done, and the TV, `score`'s line
and the carers' report say plainly which side lifted, with no word of illness.

Made from real frames (../shared/media/dev has no one-sided march), as tests/test_counting_real.py
makes it: the high knees (truth 9 lifts per leg, README) with the right knee and ankle kept, relative
to the right hip, where they were when it stood (hold_right_leg_still). Truth: left 9, right 0.
A fresh-eyes trial (#41) counted such a march right and scored it 0 of 100: the posture score judged
each repetition of the routine's whole cycle (a left lift, then a right), held every repetition to a
counted lift of each side, and the right one never came (common/coach/scoring.py one_side_cycle).
"""
from __future__ import annotations

import pytest

from common.coach import routine as routines
from common.coach.scoring import SessionScorer
from tests.conftest import clip_poses
from tests.test_counting_real import at_15fps, hold_right_leg_still

BP, MN = "blazepose-full", "movenet-lightning"
CLIP = "high_knees_side_gym"
TRUTH = {"left": 9, "right": 0}


@pytest.fixture(scope="module")
def poses():
    from models import catalog

    get = clip_poses()

    def read(model: str):
        try:
            catalog.paths(model)
        except catalog.ModelError as exc:
            pytest.skip(f"{exc} (make test fetches it)")
        return get(f"dev/{CLIP}.mp4", model)

    return read


def _scored(poses, model: str, rate: str, one_side: bool) -> dict:
    p, w, fps, size = poses(model)
    if one_side:
        p, w = hold_right_leg_still(p, w)
    times = [i / fps for i in range(len(p))]
    scorer = SessionScorer(routines.load("marching"))
    for i in at_15fps(times) if rate == "15fps" else range(len(p)):
        scorer.update(times[i], p[i], w[i], frame_size=size)
    return scorer.summary()


@pytest.mark.parametrize("rate", ["native", "15fps"])
@pytest.mark.parametrize("model", [BP, MN])
def test_a_march_with_one_leg_is_scored_on_the_lifts_it_did(poses, model, rate):
    both, one = _scored(poses, model, rate, False), _scored(poses, model, rate, True)
    print(f"\n{CLIP}, right leg held still (made) [marching] {model} {rate}: counted {one['reps_by_side']}, "
          f"truth {TRUTH}; score {one['score']} (both legs: {both['score']}, {both['reps_by_side']}); "
          f"joints {one['joints']}; judged {one['repetitions_judged']}, not the movement "
          f"{ {k: v for k, v in one['repetitions_not_the_movement'].items() if v} }")
    assert one["reps_by_side"] == TRUTH
    # Every counted lift judged, and judged as the movement (before: none judged, or each 'range': 0 of 100).
    assert one["repetitions_judged"] >= TRUTH["left"] - 1
    assert not any(one["repetitions_not_the_movement"].values())
    # The left leg's lifts are the same frames as in the whole clip: its one-sided session scores no
    # less than the whole clip's, where the same lifts alternate with the right's.
    assert one["score"] >= both["score"] >= 50.0
    # The leg that did not lift is stated by its count, not scored as wrong on every lift of the other.
    assert "right_hip" not in one["joints"] and "left_hip" in one["joints"]

