"""The score means posture, on real people (issue [score]): every real clip of ../shared/media and
its dev/ scored against a bundled routine with both models, the poses computed once per clip and
model (module fixture). The table printed at the end is the one in docs/scoring.md.

- Someone doing a bundled routine's movement with good form, at their own pace (jumping jacks at
  about 6x the arm raise's pace, squats at 2-4x) and wherever their repetitions fall in time
  (standing still 5 s first, pausing at the bottom), scores at least 70 (truth.tsv names the
  routine that fits; lateral raises and high-knee marching have their own routines).
- Another movement, a dancer, someone holding one squat score under 30.
- A count test is a count: squats_5reps played against the 30 s chair stand test (a stand-in:
  no clip shows chair stands) reports its count, the time it covered and the norm it is held
  against, not a posture share.
Repetition counts are printed, not asserted here (tests/test_counting_real.py is about them).
"""
from __future__ import annotations

import pytest

from common.coach import routine as routines
from common.coach.scoring import SessionScorer
from common.coach.session import PersonSession, play_recording
from common.timeline import UNSCORED, best_and_worst
from tests.conftest import clip_poses

MODELS = ["blazepose-full", "movenet-lightning"]
# Every real clip of ../shared/media and its dev/ (README.md and truth.tsv there say what each shows).
CLIPS = {
    "dev/jumping_jacks_3views_studio.mp4": "19 jumping jacks, front, oblique, side",
    "dev/jumping_jacks_fast_front_gym.mp4": "6 fast jumping jacks, 0.87 s each",
    "dev/squat_goblet_oblique_gym.mp4": "6 squats after standing 5 s",
    "dev/squat_arms_up_front_studio.mp4": "3 squats, arms up, 1 s pause at the bottom",
    "dev/squat_side_studio.mp4": "8 deep squats, side view",
    "dev/squat_dumbbell_front_home.mp4": "5 dumbbell squats, front view",
    "dev/lateral_raise_waist_up_gym.mp4": "4 lateral raises, legs out of view",
    "dev/high_knees_side_gym.mp4": "18 fast high-knee marching lifts, side view",
    "squats_5reps.mp4": "5 squats at 1.1 s each",
    "squat_man.mp4": "holding one squat",
    "dancer.mp4": "dancing",
    "dance_600.mp4": "dancing",
    "stretch_side_view.mp4": "forward fold and lunges",
    "two_people_sports2d.mp4": "2 jumping jacks then a flip; another person walks past",
}
ROUTINES = routines.bundled()  # the 13 bundled routines
# The pairs where the clip's movement IS the routine's (docs/scoring.md "Which movement" argues
# each): at least 70 with both models. Jumping jacks stand in for standing arm raises (the arms go
# from the sides to overhead through the side), fast high knees for standing marching.
SAME = {
    ("dev/jumping_jacks_3views_studio.mp4", "arm_raise"), ("dev/jumping_jacks_fast_front_gym.mp4", "arm_raise"),
    ("dev/squat_goblet_oblique_gym.mp4", "squat"), ("dev/squat_arms_up_front_studio.mp4", "squat"),
    ("dev/squat_side_studio.mp4", "squat"), ("dev/squat_dumbbell_front_home.mp4", "squat"),
    ("squats_5reps.mp4", "squat"), ("dev/lateral_raise_waist_up_gym.mp4", "lateral_raise"),
    ("dev/high_knees_side_gym.mp4", "marching"),
}
# Not held to either bound, and why: the chair stand test's result is a count in its 30 s (a squat
# stands in for a stand; tested below); the two-people clip's jumping jacks are 2 of its 7.7 s
# against the arm raise (half its length is a flip).
EITHER = {**{(c, "chair_stand_30s"): "a count test: squats stand in for chair stands"
             for c, r in SAME if r == "squat"},
          ("two_people_sports2d.mp4", "arm_raise"): "2 jumping jacks, then a flip"}
# Measured and not yet right (issue [score]): scores 30 or more with one model for another
# movement. Strict: when one is fixed the test says so, and it comes off this list. Empty since the
# level, count and other-person rules (docs/scoring.md "Which movement"); before them: jumping jacks
# against lateral_raise B 42.8 / M 56 and M 83, squat_side B 42 / M 67, squats_5reps against
# marching M 39, dancer against lateral_raise B 75, dance_600 against marching B 96, two_people
# against squat B 80.
STILL_HIGH: dict = {}
MATRIX: dict = {}
TABLE: list[tuple] = []


@pytest.fixture(scope="module")
def poses():
    return clip_poses()


def played(poses, clip: str, routine: str, model: str) -> PersonSession:
    """The clip as `silvergym score` plays it: ends with the routine or the video."""
    p, w, fps, size = poses(clip, model)
    person = PersonSession(routines.load(routine))
    play_recording(person, p, w, fps, size)
    return person


def play(poses, clip: str, routine: str, model: str) -> dict:
    return played(poses, clip, routine, model).summary("video ended")


def row(summary: dict) -> str:
    weakest = summary["weakest"] or "-"
    return (f"{summary['score']:5.1f} ({summary['reps']} reps, {summary['repetitions_judged']} judged, "
            f"weakest {weakest} {100 * summary['joints'].get(weakest, 0):.0f}%)")


def _pairs():
    for clip in CLIPS:
        for routine in ROUTINES:
            marks = ([pytest.mark.xfail(strict=True, reason=STILL_HIGH[clip, routine])]
                     if (clip, routine) in STILL_HIGH else [])
            yield pytest.param(clip, routine, marks=marks, id=f"{clip.split('/')[-1][:-4]}-{routine}")


@pytest.mark.parametrize("clip, routine", list(_pairs()))
def test_each_clip_against_each_routine(poses, clip, routine):
    """Someone doing the routine's movement with good form, at their own pace (jumping jacks at
    about 6x the arm raise's pace, squats at 2-4x), wherever the repetitions fall in time, scores
    at least 70; another movement under 30 (a count test's score too: its count against the norm)."""
    got = {m: play(poses, clip, routine, m) for m in MODELS}
    want = ">= 70" if (clip, routine) in SAME else "any" if (clip, routine) in EITHER else "< 30"
    MATRIX[clip, routine] = (want, *(got[m]["score"] for m in MODELS))
    print(f"\n{clip} ({CLIPS[clip]}) against {routine}, wanted {want}: "
          + "; ".join(f"{m} {row(got[m])} {got[m].get('repetitions_not_the_movement', {})}" for m in MODELS))
    for m in MODELS:
        if want == ">= 70":
            assert got[m]["score"] >= 70, f"{m}: {got[m]['score']} ({got[m]['joints']})"
            assert list(got[m]["joints"].values()) == sorted(got[m]["joints"].values()), "weakest first"
        elif want == "< 30":
            assert got[m]["score"] < 30, f"{m}: {got[m]['score']} ({got[m]['joints']})"
    if want == ">= 70":  # the level and count rules take no repetition of good form (docs/scoring.md)
        assert all(got[m]["repetitions_not_the_movement"][why] == 0 for m in MODELS for why in ("level", "count"))


def test_a_chair_stand_test_is_a_count_against_the_norm(poses):
    """Squats standing in for chair stands (no real chair-stand clip): the result is the count in
    the time the video covered, held against the Rikli & Jones range, the test marked incomplete
    (5.6 s of 30 s: its last frame); the posture figures are beside it, not in it."""
    cells = []
    for m in MODELS:
        s = play(poses, "squats_5reps.mp4", "chair_stand_30s", m)
        test = s["test"]
        print(f"\nsquats_5reps (5 squats as stand-in chair stands) against chair_stand_30s, {m}: {test['count']} "
              f"in {test['seconds']} s of {test['test_s']:.0f} s, norm {test['low']}-{test['high']} "
              f"({test['sex']} {test['age_group']}, assumed {test['assumed']}): {test['rating']}, score {s['score']}; "
              f"posture {s['posture_score']} beside it")
        cells.append(f"{test['count']} in {test['seconds']} s of 30 s: {test['rating']}, score {s['score']} "
                     f"(posture {s['posture_score']} beside it)")
        assert s["score_means"] == "count" and test["count"] == s["reps"] >= 4
        assert test["seconds"] == pytest.approx(5.65, abs=0.15) and not test["complete"]
        assert test["rating"] == "incomplete" and (test["low"], test["high"]) == (10, 15)
        assert s["score"] == pytest.approx(100 * test["count"] / test["high"], abs=0.1)
    TABLE.append(("squats_5reps.mp4", "chair_stand_30s", "5 squats as stand-in chair stands", "the count", *cells))


@pytest.mark.parametrize("clip, routine", [("dev/jumping_jacks_3views_studio.mp4", "arm_raise"),
                                           ("dev/squat_goblet_oblique_gym.mp4", "squat"),
                                           ("dev/high_knees_side_gym.mp4", "marching")])
def test_the_running_score_aligns_only_new_poses_and_is_the_same(poses, clip, routine):
    """The running score (every RUNNING_SCORE_EVERY_S and at each repetition) aligns only the poses
    added since the last time (warp.CycleAlignment) and re-judges only the repetitions whose poses
    changed: each time, it is exactly what a scorer aligning all the poses afresh gives."""
    p, w, fps, size = poses(clip, "blazepose-full")
    person = PersonSession(routines.load(routine))
    checks, last = 0, None
    for i in range(len(p)):
        person.update(i / fps, p[i], w[i], size)
        scorer = person.scorer
        if scorer._posture is not last:
            last = scorer._posture
            afresh = SessionScorer(scorer.routine)
            afresh._samples, afresh._stance = list(scorer._samples), list(scorer._stance)
            afresh._counted, afresh._switches = list(scorer._counted), list(scorer._switches)
            assert afresh.posture() == scorer._posture, f"at frame {i}"
            checks += 1
    print(f"\n{clip} against {routine}: {checks} running scores, each the same as aligned afresh; "
          f"final {person.summary('video ended')['score']}")
    assert checks >= 5


def test_print_the_table():
    if not MATRIX:
        pytest.skip("no clips were scored")
    print("\n| clip | what the person does | wanted | BlazePose | MoveNet |\n| --- | --- | --- | --- | --- |")
    for r in TABLE:
        print("| " + " | ".join(r) + " |")
    print("\nEach cell: BlazePose / MoveNet; + the same movement (>= 70), ~ either, ! not as wanted\n")
    print("| clip | " + " | ".join(ROUTINES) + " |\n|" + " --- |" * (len(ROUTINES) + 1))
    for clip in CLIPS:
        cells = []
        for routine in ROUTINES:
            if (clip, routine) not in MATRIX:
                cells.append("-")
                continue
            want, b, m = MATRIX[clip, routine]
            ok = all((s >= 70) if want == ">= 70" else (s < 30) if want == "< 30" else True for s in (b, m))
            cells.append(f"{'+' if want == '>= 70' else '~' if want == 'any' else ''}{b:.0f} / {m:.0f}{'' if ok else ' !'}")
        print(f"| {clip} | " + " | ".join(cells) + " |")


# The pairs that scored 30 or more before the level and other-person rules, and the rule that now
# says so, with the model(s) where it decides (docs/scoring.md "Which movement"): the arms past
# shoulder height against a raise to it (jumping jacks overhead; squat_side's arms reaching forward
# at 126-139 deg to a trunk leaning over; the dancer's right arm at 142), and a repetition whose
# poses were two people's (two_people_sports2d: the model leaves the flyer for the woman walking
# past at 5.63 s, 5.4 trunk lengths away in 1/30 s). dance_600 and squats_5reps against marching
# are judged "count" (the counter counted no repetition there), printed here, asserted by the matrix.
WHY_ANOTHER = [
    ("dev/jumping_jacks_3views_studio.mp4", "lateral_raise", MODELS, "level"),
    ("dev/jumping_jacks_fast_front_gym.mp4", "lateral_raise", ["movenet-lightning"], "level"),
    ("dev/squat_side_studio.mp4", "lateral_raise", MODELS, "level"),
    ("dancer.mp4", "lateral_raise", ["blazepose-full"], "level"),
    ("two_people_sports2d.mp4", "squat", ["blazepose-full"], "person"),
    ("dance_600.mp4", "marching", [], ""), ("squats_5reps.mp4", "marching", [], ""),
]


@pytest.mark.parametrize("clip, routine, models, why", WHY_ANOTHER, ids=[f"{c.split('/')[-1][:-4]}-{r}" for c, r, _, _ in WHY_ANOTHER])
def test_why_another_movement_scores_low(poses, clip, routine, models, why):
    """Why each pair that scored 30 or more before now scores under 30, per model: the repetitions
    each rule took (repetitions_not_the_movement), and those not judged because the pose followed
    became another person's during them."""
    for m in MODELS:
        s = play(poses, clip, routine, m)
        taken = {k: v for k, v in s["repetitions_not_the_movement"].items() if v}
        print(f"\n{clip} against {routine}, {m}: score {s['score']}, {s['reps']} reps, {s['repetitions_judged']} judged, "
              f"not the movement {taken}, of another person {s['repetitions_of_another_person']}")
        assert s["score"] < 30
        if m in models and why == "person":
            assert s["repetitions_of_another_person"] >= 1
        elif m in models:
            assert taken.get(why, 0) >= 1, taken


def red_share(codes: str) -> float:
    """The share of the judged seconds of a strip that are red (w)."""
    judged = [c for c in codes if c != UNSCORED]
    return sum(c == "w" for c in judged) / len(judged) if judged else 0.0


@pytest.mark.parametrize("clip, routine", sorted(SAME))
def test_the_summary_strip_is_the_scores_judgement(poses, clip, routine):
    """The summary's strip and its stretch to practise come from the judgement the score comes
    from (the aligned repetitions), so a high score does not sit over a red strip: a second is red
    when the repetitions' moments done in it earned under 40 % (timeline.share_verdict), and the
    score is their average, so at most (100 - score) / 60 of a strip can be red, give or take the
    weighting (per joint over moments, not per second). Seconds in no judged repetition (standing
    still before the first) are not judged, never named as the stretch to practise."""
    for m in MODELS:
        person = played(poses, clip, routine, m)
        s = person.summary("video ended")
        live = person.scorer._timeline.codes()
        codes, parts = s["timeline"], best_and_worst(s["timeline"])
        print(f"\n{clip} against {routine}, {m}: score {s['score']}, {s['reps']} reps, {s['repetitions_judged']} judged\n"
              f"  frames' strip (live, before) {live} red {red_share(live):.2f}\n"
              f"  summary strip (repetitions)  {codes} red {red_share(codes):.2f}, best/worst {parts}")
        assert len(codes) == len(live) and not codes.strip("cnw" + UNSCORED)
        if s["score"] >= 70:
            assert red_share(codes) <= (100 - s["score"]) / 60 + 0.1, codes
        if parts:  # the stretch to practise has judged seconds in it, and went worse than the best
            (_, _, best), (start, end, worst) = parts
            assert codes[start:end].strip(UNSCORED) and worst < best
        if clip == "dev/squat_goblet_oblique_gym.mp4":  # truth.tsv: stands still 0-4.9 s
            assert codes[:4] == UNSCORED * 4, codes
            assert not parts or parts[1][1] > 5, f"the stillness named as the stretch to practise: {parts}"


@pytest.mark.parametrize("clip, routine", [("dev/squat_side_studio.mp4", "arm_raise"),
                                           ("dev/squat_goblet_oblique_gym.mp4", "marching"),
                                           ("dev/jumping_jacks_3views_studio.mp4", "squat")])
def test_another_movements_strip_is_not_green(poses, clip, routine):
    """Another movement scores low, and its summary strip says so: red where repetitions were
    judged, grey ('-') where none was; hardly a green second (the frames' verdicts painted a goblet
    squat's marching strip half green beside a 0)."""
    for m in MODELS:
        s = play(poses, clip, routine, m)
        codes = s["timeline"]
        print(f"\n{clip} against {routine}, {m}: score {s['score']}, {s['repetitions_judged']} judged, strip {codes}")
        assert s["score"] < 30 and codes.count("c") <= 0.1 * len(codes)
        assert red_share(codes) >= 0.8 or set(codes) == {UNSCORED}


def test_one_borderline_squat_moves_her_score_a_little(poses):
    """MoveNet's goblet squatter (truth: 6 squats), her clip and three invisibly changed copies of it
    (models.imageops.invisibly_changed, seeds 1-3). Her first squat is a little shallow: the hips
    about 5 deg beyond their near band at the bottom. It was judged 0 ("turn") as its own
    repetition on the copies and swallowed by the next squat (not judged) on the clip itself:
    69.2, 68.3, 69.2 against 83.4. Now a repetition a little short earns a little less and every
    counted repetition is judged once, so every copy on which the counter counts all 6 squats
    scores within 2 points of the clip (measured 77.0 and 77.4, with 6 and 7 counted, against 77.9).
    Printed, not asserted: a copy whose counter rejects her first squat (seed 1: 5 counted, hips
    41.6 of the 44.5 deg `moves_with` asks) scores it 0 ("count"), 69.2: the score is as stable as
    the count it stands on (tests/test_counting_real.py is about counts)."""
    import numpy as np

    from common.cli.routine import poses_from_video
    from tests.conftest import media_file

    clip, model, truth = "dev/squat_goblet_oblique_gym.mp4", "movenet-lightning", 6
    own = play(poses, clip, "squat", model)
    size = poses(clip, model)[3]
    copies = []
    for seed in (1, 2, 3):
        p, w, fps = poses_from_video(str(media_file(clip)), model, changed_by=np.random.default_rng(seed))
        person = PersonSession(routines.load("squat"))
        play_recording(person, p, w, fps, size)
        copies.append(person.summary("video ended"))
    print(f"\n{clip}, {model}: the clip {row(own)}; invisibly changed copies (seeds 1-3): "
          + "; ".join(f"{row(s)} {s['repetitions_not_the_movement']}" for s in copies) + f" (truth {truth} squats)")
    assert own["reps"] == own["repetitions_judged"] == truth
    every_squat = [s for s in copies if s["reps"] >= truth]
    assert len(every_squat) >= 2, "the counter counts every squat on most copies"
    for s in every_squat:
        assert abs(s["score"] - own["score"]) <= 2, (s["score"], own["score"])
        assert s["repetitions_judged"] == truth, "each squat judged once (one counted twice: judged whole)"
