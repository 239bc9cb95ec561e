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

import dataclasses

import pytest

from common.coach import routine as routines
from common.coach.scoring import SessionScorer
from tests.conftest import canvas, dev_clip_reader  # noqa: F401 - canvas: a fixture
from tests.test_counting_real import at_15fps, hold_right_leg_still

BP, MN = "blazepose-full", "movenet-lightning"
CLIP = "high_knees_side_gym"
TRUTH = {"left": 9, "right": 0}


@pytest.fixture(scope="module")
def poses():
    read = dev_clip_reader()
    return lambda model: read(CLIP, model)


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
    assert one["one_side"] == "left_leg" and "one_side" not in both


def test_the_tv_score_and_the_report_say_only_the_left_leg_lifted(poses, canvas, tmp_path):
    """BlazePose at the clip's rate: the TV's summary words (drawn to a PNG), `score`'s line and the
    carers' report say the left leg alone lifted, with its count; the report says nothing of a
    physiotherapist, nor that left and right move alike; the session message carries and checks it."""
    import pygame

    from common.bus import messages
    from common.central.report import reading
    from common.cli.score import summary_text
    from common.texts import load_texts
    from services.renderer.samples import state_for
    from services.renderer.screen import draw_summary, summary_words

    one = _scored(poses, BP, "native", True)
    state = state_for("summary_one_side", "ko")
    state.session = dataclasses.replace(state.session, summary=one)
    words, _ = summary_words(state, one, float(one["score"]))
    print("\nTV:", words)
    assert "왼쪽 다리만 들었어요" in words, words
    surface, fonts = canvas
    surface.fill((0, 0, 0))
    draw_summary(surface, fonts, state, *surface.get_size())
    pygame.image.save(surface, str(tmp_path / "summary_one_side.png"))
    print("drawn:", tmp_path / "summary_one_side.png")

    line = summary_text(one)
    print("score:", line)
    assert "(left 9, right 0), only the left leg lifted" in line, line

    for locale, physio in (("ko", "물리치료"), ("en", "physiotherapist")):
        t = load_texts(locale)
        said = reading([{"summary": one}], [], t)
        print(f"report ({locale}):", *said, sep="\n  ")
        assert t["report.one_side.left_leg"].format(left=9, right=0) in said, said
        assert not any(physio in s for s in said), said  # stated as it was, not as a sign of illness
        assert t["report.no_asymmetry"] not in said, said  # nor "left and right move about equally"
        assert t["report.reps_sides"].format(left=9, right=0) not in said  # the count once, in the one-side line

    sent = messages.Session(seq=1, t_capture_ns=0, session_id="s", event="end", routine="marching",
                            participant="p", started_unix=0.0, summary=one)
    assert messages.decode("session", messages.encode(sent)).summary["one_side"] == "left_leg"
    with pytest.raises(messages.MalformedMessage, match="one_side"):
        messages.decode("session", messages.encode(dataclasses.replace(sent, summary={**one, "one_side": "left"})))
