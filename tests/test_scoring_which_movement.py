"""Tier 1: the session score's rules for "another movement" (docs/scoring.md "Which movement") on
synthetic people with injected time: a lift past the level the routine keeps below, a repetition
the counter did not count, a repetition during which the pose followed became another person's.
The same rules on real clips: tests/test_score_real.py."""
import json

import numpy as np

from common.coach import routine as routines
from common.coach.scoring import LEVEL_DEG, SessionScorer
from common.coach.synthetic import pose3d

FPS = 15.0


def perform(routine_name: str, targets, seconds: float | None = None, center_x=lambda t: 320.0, seed: int = 1):
    """A simulated participant scored against `routine_name`: targets(t) -> joint angles, drawn at
    center_x(t) in the picture, with 2 px of noise; returns the scorer."""
    r = routines.load(routine_name)
    scorer = SessionScorer(r)
    rng = np.random.default_rng(seed)
    for i in range(int((seconds or r.duration_s) * FPS)):
        t = i / FPS
        xyz = pose3d(targets(t), center_x=center_x(t))
        xyz[:, :2] += rng.normal(0.0, 2.0, (len(xyz), 2))
        scorer.update(t, np.column_stack([xyz[:, :2], np.full(len(xyz), 0.9)]), xyz)
    return scorer


def scaled(routine_name: str, amplitude: float, extra=lambda t, a: {}):
    """The routine's own movement with its excursion from the start scaled by `amplitude`, and
    extra(t, angles) -> more joint angles (a joint the routine does not judge)."""
    r = routines.load(routine_name)
    rest = r.target(0.0)

    def targets(t):
        a = {j: rest[j] + amplitude * (v - rest[j]) for j, v in r.target(t).items()}
        return {**a, **extra(t, a)}
    return targets


def test_a_lift_past_the_level_the_routine_keeps_below_is_another_movement():
    """A lateral raise goes to shoulder height (85 deg): arms taken to 135 deg each time (within the
    range rule's 'the routine's range again', 155) are a lift to another height; to 106 deg, a
    little high, is still the movement. A march lifts the knee to a hip angle of 120: high knees
    (80) stay under the level's near band (60). An overhead raise, whose top is past the level,
    asks nothing of it."""
    cases = [("lateral_raise", (135 - 15) / 70, False), ("lateral_raise", (106 - 15) / 70, True),
             ("marching", (175 - 80) / 55, True), ("arm_raise", 1.0, True)]
    for name, amplitude, same in cases:
        s = perform(name, scaled(name, amplitude)).summary()
        why = s["repetitions_not_the_movement"]
        print(f"\n{name} at {amplitude:.2f} x its excursion: score {s['score']}, {s['reps']} reps, "
              f"{s['repetitions_judged']} judged, not the movement {why}")
        if same:
            assert s["score"] >= 70 and why["level"] == 0
        else:
            assert s["score"] < 30 and why["level"] == s["repetitions_judged"] > 0
    assert LEVEL_DEG == 90.0  # a right angle to the trunk: level for an upright body


def test_a_repetition_the_counter_did_not_count_is_another_movement():
    """Arms raised to shoulder height as the lateral raise wants, but the knees bend 60 deg with
    them each time (a joint the routine holds still moving over half as far as the arms: the
    counter's `still` rule, from where they were as the arms left the start): the counter counts none, and the score judges none as the movement,
    though the arms alone match. The same arms with the knees straight score high."""
    def knees(t, a):
        bend = 60.0 * (a["left_shoulder"] - 15.0) / 70.0
        return {"left_knee": 175.0 - bend, "right_knee": 175.0 - bend}

    bent = perform("lateral_raise", scaled("lateral_raise", 1.0, knees)).summary()
    straight = perform("lateral_raise", scaled("lateral_raise", 1.0)).summary()
    for name, s in (("knees bending", bent), ("knees straight", straight)):
        print(f"\nlateral raise, {name}: score {s['score']}, {s['reps']} reps, {s['repetitions_judged']} judged, "
              f"not the movement {s['repetitions_not_the_movement']}")
    assert bent["reps"] == 0 and bent["repetitions_judged"] > 0
    assert bent["score"] == 0 and bent["repetitions_not_the_movement"]["count"] == bent["repetitions_judged"]
    assert straight["score"] >= 90 and straight["repetitions_not_the_movement"]["count"] == 0


def test_a_repetition_during_which_the_pose_became_another_persons_is_not_judged():
    """Squats, with the one-person model following someone standing 3 trunk lengths away for 1.5 s
    in the middle of one (as two_people_sports2d.mp4's model jumps to a passer-by): that repetition
    is nobody's and is not judged; the others still are, and score as before."""
    r = routines.load("squat")
    elsewhere = lambda t: 320.0 + (400.0 if 12.5 <= t < 14.0 else 0.0)
    someone = lambda t: {} if 12.5 <= t < 14.0 else r.target(t)
    mixed = perform("squat", someone, center_x=elsewhere)
    alone = perform("squat", r.target)
    s, a = mixed.summary(), alone.summary()
    print(f"\nsquats with another person followed 12.5-14.0 s: score {s['score']}, {s['repetitions_judged']} judged, "
          f"{s['repetitions_of_another_person']} of another person (switches at {mixed._switches}); "
          f"alone: {a['score']}, {a['repetitions_judged']} judged")
    assert [round(t, 1) for t in mixed._switches] == [12.5, 14.0]
    assert s["repetitions_of_another_person"] >= 1 and a["repetitions_of_another_person"] == 0
    assert s["repetitions_judged"] == a["repetitions_judged"] - s["repetitions_of_another_person"]
    assert s["score"] >= 90 and a["score"] >= 90


def test_a_restarted_scorer_keeps_the_counted_repetitions_and_the_switches():
    """The checkpoint (JSON) carries the counted repetitions' middles and the switches, so a
    restarted scoring service judges the same repetitions the same way."""
    r = routines.load("squat")
    scorer = perform("squat", r.target, seconds=20.0, center_x=lambda t: 320.0 + (400.0 if 12.5 <= t < 14.0 else 0.0))
    state = json.loads(json.dumps(scorer.checkpoint(), allow_nan=False))
    again = SessionScorer(r)
    again.restore(state)
    assert again._counted == [(round(m, 3), g) for m, g in scorer._counted]
    assert again._switches == [round(t, 3) for t in scorer._switches] and len(again._switches) == 2
    assert again.posture() == scorer.posture()
    # A checkpoint from before these were kept: the repetitions before it are not held to the count.
    older = SessionScorer(r)
    older.restore({k: v for k, v in state.items() if k not in ("counted", "counted_since", "switches")})
    assert older._counted_since == round(scorer._samples[-1][0], 3) and older.posture()["score"] >= 90
