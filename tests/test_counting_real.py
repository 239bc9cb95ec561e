"""Repetitions counted as real people move: every countable clip of ../shared/media/dev (README and
truth.tsv there, counted by eye) with both models, at the clip's own frame rate and at 15 fps, and
the senior's variants the set lacks, made from its real frames:

- legs hidden: the front segment of the jumping jacks with a table painted over everything below
  the hips (a person at a table), counted with the seated arm raise;
- shallow: each squat clip cut where the knees are still above 120 deg (each frame deeper than
  that shows the last pose above it instead: the person holds there for as long as they were
  deeper, the clip's own clock), counted against the cut's own truth;
- one side only: the high knees with the right leg held still (its knee and ankle kept where they
  were when it stood, moved with the hip), counted per side.

15 fps = the pose at or after every 1/15 s of the clip, with its own timestamp (every 4th at 60
fps, every 2nd at 30, an uneven 2-1 pattern at 24): the model is not run again. Poses are computed
once per clip and model (module fixture). Truth is printed beside the count on every line, and the
whole table at the end (docs/scoring.md has the same table).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from common.coach import routine as routines
from common.coach.geometry import joint_angles
from common.coach.keypoints import COMMON_INDEX
from common.coach.scoring import SessionScorer
from tests.conftest import media_file, poses_of_video

MODELS = ["blazepose-full", "movenet-lightning"]
RATES = ["native", "15fps"]
# clip, the bundled routine that fits the movement, truth (README / truth.tsv), truth per side
DEV = [
    ("jumping_jacks_3views_studio", "arm_raise", 19, None),
    ("jumping_jacks_fast_front_gym", "arm_raise", 6, None),
    ("squat_goblet_oblique_gym", "squat", 6, None),
    ("squat_arms_up_front_studio", "squat", 3, None),
    ("squat_side_studio", "squat", 8, None),
    ("squat_dumbbell_front_home", "squat", 5, None),
    ("lateral_raise_waist_up_gym", "lateral_raise", 4, None),
    ("high_knees_side_gym", "marching", 18, {"left": 9, "right": 9}),
]
# Every real clip (../shared/media and its dev/) and the bundled routines whose movement it shows;
# against every other bundled routine it must count nothing. A squat is a chair stand's movement
# (sit to stand, the same knees and hips); jumping jacks raise the arms sideways overhead, through a
# lateral raise; a lateral raise is a shallow arm raise; high knees are a march (seated or not).
ARMS_SIDEWAYS = {"arm_raise", "arm_raise_seated", "lateral_raise"}
SQUATTING = {"squat", "chair_stand_30s"}
CLIPS = {
    "dev/jumping_jacks_3views_studio": ARMS_SIDEWAYS, "dev/jumping_jacks_fast_front_gym": ARMS_SIDEWAYS,
    "dev/lateral_raise_waist_up_gym": ARMS_SIDEWAYS,
    "dev/squat_goblet_oblique_gym": SQUATTING, "dev/squat_arms_up_front_studio": SQUATTING,
    "dev/squat_side_studio": SQUATTING, "dev/squat_dumbbell_front_home": SQUATTING, "squats_5reps": SQUATTING,
    "dev/high_knees_side_gym": {"marching", "marching_seated"},
    "dancer": set(), "dance_600": set(), "squat_man": set(), "stretch_side_view": set(),
    # one person does 2 jumping jacks and a flip, the other walks past (a one-person model follows either)
    "two_people_sports2d": ARMS_SIDEWAYS,
}
ROUTINES = sorted(p.stem for p in (Path(routines.__file__).parent / "routines").glob("*.json"))
# Pairs that still count (measured; docs/scoring.md says why): (clip, routine, model) -> what is seen.
BP, MN = MODELS
NOT_YET: dict = {}
MATRIX: dict = {}  # (clip, routine, model) -> {rate: counted}, printed at the end
TABLE: list[tuple] = []  # (clip, routine, model, rate, truth, counted, per side) for the table at the end


def _frame_size(path: Path) -> tuple[int, int]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()


@pytest.fixture(scope="module")
def poses():
    """poses(name, model) -> (poses, worlds, times, frame size), computed once per clip and model."""
    from models import catalog

    cache: dict = {}

    def get(name: str, model: str, path: Path | None = None):
        try:
            catalog.paths(model)
        except catalog.ModelError as exc:
            pytest.skip(f"{exc} (make test fetches it)")
        if (name, model) not in cache:
            path = path or (media_file(f"dev/{name}.mp4") if not name.startswith("/") else Path(name))
            p, w, fps = poses_of_video(path, model)
            cache[name, model] = (p, w, [i / fps for i in range(len(p))], _frame_size(path))
        return cache[name, model]

    return get


def at_15fps(times: list[float]) -> list[int]:
    """The frames a 15 fps camera would have given: the first at or after every 1/15 s."""
    keep, next_t = [], 0.0
    for i, t in enumerate(times):
        if t + 1e-6 >= next_t:
            keep.append(i)
            next_t += 1 / 15
    return keep


def count(routine: str, p, w, times, size, frames=None) -> dict:
    scorer = SessionScorer(routines.load(routine))
    for i in frames if frames is not None else range(len(p)):
        scorer.update(times[i], p[i], w[i], frame_size=size)
    return scorer.summary()


def _report(clip, routine, model, rate, truth, summary, sides=None) -> str:
    side = summary.get("reps_by_side", {})
    TABLE.append((clip, routine, model, rate, truth, summary["reps"], sides, side))
    depth = summary.get("rep_depth")
    return (f"{clip} [{routine}] {model} {rate}: counted {summary['reps']}, truth {truth}"
            + (f" (per side counted {side}, truth {sides})" if sides else "")
            + (f"; depth {depth['share']:.2f} of the target" if depth else ""))


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("clip, routine, truth, sides", DEV, ids=[d[0] for d in DEV])
def test_every_dev_clip_is_counted_exactly(poses, clip, routine, truth, sides, model, rate):
    p, w, times, size = poses(clip, model)
    summary = count(routine, p, w, times, size, at_15fps(times) if rate == "15fps" else None)
    print("\n" + _report(clip, routine, model, rate, truth, summary, sides))
    assert summary["reps"] == truth
    if sides:
        assert summary["reps_by_side"] == sides


def _not_its_movement():
    """Every real clip against every bundled routine whose movement it does not show."""
    out = []
    for clip, fits in CLIPS.items():
        for routine in ROUTINES:
            if routine in fits:
                continue
            for model in MODELS:
                known = NOT_YET.get((clip, routine, model))
                out.append(pytest.param(clip, routine, model, id=f"{clip}-{routine}-{model}",
                                        marks=pytest.mark.xfail(reason=f"not yet (docs/scoring.md): {known}", strict=False)
                                        if known else ()))
    return out


@pytest.mark.parametrize("clip, routine, model", _not_its_movement())
def test_nobody_doing_the_movement_gains_a_count(poses, clip, routine, model):
    """A clip of someone not doing the routine's movement (a dance, a held squat, a walk, a stretch,
    squats against an arm raise or a knee extension, jumping jacks against marching...) counts 0,
    at the clip's own rate and at 15 fps. The whole matrix is printed at the end (test_zz)."""
    path = media_file(f"{clip}.mp4")
    # the same key as the dev clips' own tests (their poses are computed once)
    p, w, times, size = poses(clip.removeprefix("dev/") if clip.startswith("dev/") else f"/{clip}", model, path)
    counted = {}
    for rate in RATES:
        summary = count(routine, p, w, times, size, at_15fps(times) if rate == "15fps" else None)
        counted[rate] = summary["reps"]
        side = summary.get("reps_by_side")
        print(f"\n{clip} [{routine}] {model} {rate}: counted {summary['reps']}" + (f" {side}" if side else "") + ", truth 0")
    MATRIX[clip, routine, model] = counted
    assert counted == {"native": 0, "15fps": 0}


@pytest.fixture(scope="module")
def behind_a_table(tmp_path_factory, poses):
    """The front segment (0-6.3 s, 6 jacks) of the three-view jumping jacks with a brown table
    painted from just below the hips to the bottom: only the upper body shows, as at a table."""
    import cv2

    from common.media import read_frames

    source = media_file("dev/jumping_jacks_3views_studio.mp4")
    p, _, _, _ = poses("jumping_jacks_3views_studio", "blazepose-full")
    hip, neck = (float(np.median([q[COMMON_INDEX[n], 1] for q in p[:180]])) for n in ("mid_hip", "neck"))
    top = int(hip + 0.25 * (hip - neck))
    out = tmp_path_factory.mktemp("table") / "jacks_behind_a_table.mp4"
    writer = None
    try:
        for _, t, bgr in read_frames(str(source)):
            if t > 6.3:
                break
            if writer is None:
                writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 29.97,
                                         (bgr.shape[1], bgr.shape[0]))
            bgr = bgr.copy()
            bgr[top:] = (40, 70, 110)
            writer.write(bgr)
    finally:
        if writer is not None:
            writer.release()
    return out, top


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("model", MODELS)
def test_arm_raises_behind_a_table_count_with_the_legs_hidden(poses, behind_a_table, model, rate):
    """Made from real frames (the set has no person at a table): 6 jacks, legs painted over."""
    path, top = behind_a_table
    p, w, times, size = poses(str(path), model, path)
    summary = count("arm_raise_seated", p, w, times, size, at_15fps(times) if rate == "15fps" else None)
    print("\n" + _report("jacks behind a table (made)", "arm_raise_seated", model, rate, 6, summary)
          + f"; table top at y={top} of {size[1]}; range of motion recorded for {sorted(summary['range_of_motion'])}")
    assert summary["reps"] == 6
    assert {"left_shoulder", "right_shoulder"} <= set(summary["range_of_motion"])


@pytest.mark.parametrize("model", MODELS)
def test_the_range_of_motion_is_recorded_with_the_legs_out_of_the_picture(poses, model):
    """The lateral raises are framed head to hips: the shoulders' range is in the summary."""
    p, w, times, size = poses("lateral_raise_waist_up_gym", model)
    rom = count("lateral_raise", p, w, times, size)["range_of_motion"]
    print(f"\nlateral raises {model}: shoulders {rom.get('left_shoulder')} / {rom.get('right_shoulder')}")
    assert rom["left_shoulder"]["range"] > 40 and rom["right_shoulder"]["range"] > 40


UPPER_BODY = ["lateral_raise", "arm_raise_seated", "arm_raise", "side_bend_seated"]


@pytest.mark.parametrize("routine", UPPER_BODY)
@pytest.mark.parametrize("model", MODELS)
def test_an_upper_body_routine_is_not_told_to_step_back_when_the_legs_are_out(poses, model, routine):
    """The lateral raises are framed head to hips (the legs out, as behind a table): an upper-body
    routine needs none of the legs, so no step-back cue and no installer's advice. The same session
    with the whole body judged (as before) is printed beside it and must still see the feet out."""
    from common.coach.framing import STEP_BACK

    p, w, times, size = poses("lateral_raise_waist_up_gym", model)
    figures = {}
    for judged in ("routine's parts", "whole body"):
        scorer = SessionScorer(routines.load(routine))
        if judged == "whole body":
            scorer._needs = None
        cues = [scorer.update(times[i], p[i], w[i], frame_size=size).guidance for i in range(len(p))]
        figures[judged] = scorer.summary()["framing"], cues.count(STEP_BACK) / len(cues)
    print(f"\nlateral raises (legs out of the picture) [{routine}] {model}: "
          + "; ".join(f"{k}: partly in view {f['partly_in_view']:.0%} (feet {f['feet_out']:.0%}, hips "
                      f"{f['hips_out']:.0%}, side {f['side_out']:.0%}), advice '{f['advice']}', step-back cue on "
                      f"{c:.0%} of frames" for k, (f, c) in figures.items()))
    framing, cued = figures["routine's parts"]
    assert framing["feet_out"] == 0 and framing["partly_in_view"] < 0.1 and not framing["advice"] and cued == 0
    assert figures["whole body"][0]["feet_out"] > 0.5  # the legs really are out of the picture


@pytest.mark.parametrize("model", MODELS)
def test_the_range_of_motion_behind_a_table_has_only_the_joints_seen_well(poses, behind_a_table, model):
    """Made from real frames: the jacks behind a painted table. The knees are under the paint, so
    the hips' and knees' angles (taken from the knees) are not the person's range; the arms are.
    The models read the painted-over knee at 0.4 or more on a third of the frames at most (printed):
    a range needs the joint seen well on half as many frames as the best-seen joint."""
    from common.coach.geometry import joint_visibility

    path, _ = behind_a_table
    p, w, times, size = poses(str(path), model, path)
    summary = count("arm_raise_seated", p, w, times, size)
    rom = summary["range_of_motion"]
    guessed = {}  # joints the model gave an angle for from points it saw below 0.4
    for q, x in zip(p, w):
        seen = joint_visibility(q)
        for j, a in joint_angles(q, x).items():
            if a is not None and seen[j] < 0.4:
                guessed[j] = guessed.get(j, 0) + 1
    well = {j: len(p) - guessed.get(j, 0) - sum(joint_angles(q, x)[j] is None for q, x in zip(p, w))
            for j in ("left_hip", "right_hip")}
    print(f"\njacks behind a table {model}: range of motion recorded for {sorted(rom)}; angles from points "
          f"seen below 0.4 (frames of {len(p)}, no longer recorded): {guessed}; the hips seen well on {well}")
    assert {"left_shoulder", "right_shoulder", "left_elbow", "right_elbow"} <= set(rom)
    assert not {"left_knee", "right_knee", "left_hip", "right_hip"} & set(rom)


@pytest.mark.parametrize("model", MODELS)
def test_a_2d_model_asks_for_the_side_view_a_squat_needs(poses, model):
    """MoveNet (the Coral's model, 2D) cannot see a squat's depth from the front: on the front-view
    dumbbell squats the TV asks the person to turn sideways; on the side-view squats it does not.
    BlazePose (3D world landmarks) is never asked to."""
    from common.coach.scoring import TURN_SIDEWAYS

    shares = {}
    for clip in ("squat_dumbbell_front_home", "squat_side_studio"):
        p, w, times, size = poses(clip, model)
        scorer = SessionScorer(routines.load("squat"))
        cues = [scorer.update(times[i], p[i], w[i], frame_size=size).guidance for i in range(len(p))]
        shares[clip] = cues.count(TURN_SIDEWAYS) / len(cues)
    print(f"\n{model}: the turn-sideways cue on {shares['squat_dumbbell_front_home']:.0%} of the front-view "
          f"squats' frames, {shares['squat_side_studio']:.0%} of the side-view squats'")
    if model == "movenet-lightning":
        assert shares["squat_dumbbell_front_home"] > 0.5 and shares["squat_side_studio"] < 0.05
    else:
        assert shares == {"squat_dumbbell_front_home": 0.0, "squat_side_studio": 0.0}


def picture_knees(p) -> list[float | None]:
    """The lower knee angle in the picture (2D, whatever the model) per pose, None where not read."""
    out = []
    for q in p:
        a = joint_angles(q, None)
        both = [a[k] for k in ("left_knee", "right_knee") if a[k] is not None]
        out.append(min(both) if both else None)
    return out


@pytest.mark.parametrize("model", MODELS)
def test_front_view_quarter_squats_a_2d_model_cannot_measure_are_seen_not_measured(poses, model):
    """Made from real frames (the set has no quarter squats): the front-view dumbbell squats cut where
    MoveNet's knee in the picture stops at 150 deg (shallow_cut on the Coral model's own reading; the
    same frames for both models), at the clip's own rate, 15 fps and half speed. MoveNet reads those
    squats 0.42-0.55 of the routine's excursion, under the floor against noise, and nothing else in the
    picture tells them from the dancers' bent-knee steps (common/coach/scoring.py seen_not_measured):
    it counts none, the TV asks the person to turn sideways, and the session says the movement was seen
    but is not measurable from the front, not that it was not done. BlazePose (3D) counts them."""
    from common.cli.score import summary_text
    from common.coach.scoring import TURN_SIDEWAYS
    from common.coach.session import PersonSession, play_recording

    pm, _, times, _ = poses("squat_dumbbell_front_home", MODELS[1])
    shown, truth = shallow_cut(picture_knees(pm), 150.0)
    p, w, times, size = poses("squat_dumbbell_front_home", model)
    p, w = [p[i] for i in shown], [w[i] for i in shown]
    for rate, frames, clock in (("native", None, times), ("15fps", at_15fps(times), times),
                                ("half speed", None, [2 * t for t in times])):
        scorer = SessionScorer(routines.load("squat"))
        cues = [scorer.update(clock[i], p[i], w[i], frame_size=size).guidance
                for i in (frames if frames is not None else range(len(p)))]
        summary = scorer.summary()
        asked = cues.count(TURN_SIDEWAYS) / len(cues)
        print(f"\ndumbbell squats cut at a 150 deg picture knee (made) [squat] {model} {rate}: counted "
              f"{summary['reps']}, truth {truth}; seen_not_measured {summary.get('seen_not_measured')}; "
              f"the turn-sideways cue on {asked:.0%} of frames")
        assert summary["reps"] <= truth
        if model == "movenet-lightning":
            assert summary["reps"] == 0 and summary.get("seen_not_measured") == "front" and asked > 0.5
        else:
            assert summary["reps"] >= truth - 1 and "seen_not_measured" not in summary and asked == 0
    person = PersonSession(routines.load("squat"))
    fps = (len(p) - 1) / times[-1]
    summary = person.summary(play_recording(person, p, w, fps, size))
    line = summary_text(summary)
    print(f"{model} as `silvergym score` says it: {line}")
    if model == "movenet-lightning":
        assert summary["exercised"] is False and summary["seen_not_measured"] == "front"  # no score, yet seen
        assert "seen" in line and "not done" not in line
    else:
        assert summary["exercised"] is True and "not done" not in line


# Quarter squats a 2D model cannot measure, whose cycles it still judged (each a 0): the side squats
# stopped at MoveNet's own 150 deg picture knee, the front dumbbell squats at 145 deg (measured: both
# seen_not_measured "front", read every picture or 15 a second, and a whole squat cycle judged).
JUDGED_CUTS = [("squat_side_studio", 150.0), ("squat_dumbbell_front_home", 145.0)]


@pytest.mark.parametrize("clip, deepest", JUDGED_CUTS)
def test_squats_seen_but_not_measurable_are_no_score_offline_and_live(poses, clip, deepest):
    """Made from real frames (shallow_cut on MoveNet's own picture knee, as the test above). A
    session whose movement was seen but is not measurable from the front (seen_not_measured) holds
    no score wherever it is read: exercised false (no 0 into averages), `score`'s line and the TV's
    rule (score_withheld) say it was seen and to stand side on, with no 0 and no joint at 0 %. Read
    as `score` reads (every picture) and as a loaded box reads live (the newest picture, 15 a
    second: session.newest_reads), the two agree. Before (fresh-eyes trial of #41): once a squat
    cycle was judged, exercised was true: "posture score 0.0/100 ... left_knee 0%" beside
    seen_not_measured "front", the TV's 0 with every joint at 0 %, and the report's "score 0"."""
    from common.cli.demo import result_words
    from common.cli.score import summary_text
    from common.coach.session import PersonSession, newest_reads, play_recording
    from common.program_results import score_withheld

    p, w, times, size = poses(clip, MN)
    shown, truth = shallow_cut(picture_knees(p), deepest)
    p, w = [p[i] for i in shown], [w[i] for i in shown]
    fps = (len(p) - 1) / times[-1]
    seen = {}
    for how, reads in (("score", None), ("live, 15 a second", newest_reads(len(p), fps, 15.0))):
        person = PersonSession(routines.load("squat"))
        summary = person.summary(play_recording(person, p, w, fps, size, reads=reads))
        line, tv = summary_text(summary), score_withheld(summary)
        print(f"\n{clip} cut at a {deepest:.0f} deg picture knee (made) [squat] {MN} read as {how}: counted {summary['reps']}, "
              f"truth {truth}; seen_not_measured {summary.get('seen_not_measured')}, exercised "
              f"{summary['exercised']}, the TV withholds the score: {tv or 'no'}\n  score says: {line}"
              f"\n  demo says: {result_words(summary)}")
        seen[how] = summary.get("seen_not_measured")
        if seen[how]:
            assert summary["exercised"] is False, "seen, not measured: no score into averages"
            assert tv == "side_view" and "no score" in result_words(summary)
            assert "seen" in line and "side on" in line and "0.0/100" not in line and "%" not in line, line
    assert seen["score"] == "front", "the cut is seen, not measurable from the front"
    assert seen["live, 15 a second"] == seen["score"], "live and offline say the same of one performance"


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("model", MODELS)
def test_shoulder_height_raises_under_the_overhead_arm_raise_are_corrected(poses, model, rate):
    """The lateral raises (arms to shoulder height, 0.55-0.72 of the overhead raise's excursion) under
    arm_raise (lateral_raise counts them, 4 of 4) are told to go
    higher ("팔을 머리 위로 더 올리세요", shoulder.more) once the first raise turned back short. The clip
    opens with the arms still coming down from a raise: the movement's start is measured from the
    nearest to the rest end the arms have been, not from that first frame (which left the TV silent)."""
    p, w, times, size = poses("lateral_raise_waist_up_gym", model)
    frames = at_15fps(times) if rate == "15fps" else range(len(p))
    scorer = SessionScorer(routines.load("arm_raise"))
    said = [(times[i], scorer.update(times[i], p[i], w[i], frame_size=size).guidance) for i in frames]
    after = [g for t, g in said if t >= 1.75]  # the first raise down again (README)
    told = after.count("shoulder.more") / len(after)
    first = next((round(t, 2) for t, g in said if g == "shoulder.more"), None)
    print(f"\nlateral raises [arm_raise] {model} {rate}: counted {scorer.reps.count} (truth 4 lateral raises, 0 "
          f"overhead); 'shoulder.more' on {told:.0%} of frames after the first raise, first at {first} s")
    # Counting them as raises short of the target: the test below (not yet).
    assert told > 0.5


# Not yet (#41, the trial's fault 4; docs/scoring.md "Not yet: arm raises to shoulder height"). A counting
# change that makes it pass (common/coach/reps.py: the floor at most twice the routine's start band, the
# arm's lift measured from the rest as its angle is: 4 of 4, both models, native and 15 fps) let other
# movements through elsewhere, so it is not in; strict, so the test says so when a narrower one lands.
REASON_RAISES = ("lateral raises under arm_raise count 0 of 4: their 0.55-0.72 of the overhead excursion meet a "
                 "0.6 floor (69 deg), and the arm's lift is measured from the start band's edge, not the rest")


@pytest.mark.xfail(strict=True, reason=REASON_RAISES)
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("model", MODELS)
def test_shoulder_height_raises_under_the_overhead_arm_raise_count_short_of_its_target(poses, model, rate):
    """The lateral raises (arms to shoulder height) under arm_raise, whose target is overhead: each is an
    arm raise done as high as this person went (the routine itself says to go only as high as is
    comfortable), so it counts, is scored within its own height times that height, and the score's line,
    the TV and the live cue say how high against the target and to raise the arms higher ("팔을 머리 위로
    더 올리세요", shoulder.more). Before (#41 trial fault 4): 0 counted and 0/100, no height stated: the
    raises read 0.55-0.72 of the overhead excursion against a 0.6 floor (69 deg, as far as a whole raise
    to shoulder height), and their lift from straight down was measured from the start band's edge
    (20-25 deg up already) while the angle was measured from the rest. The clip opens with the arms
    still coming down from a raise: the movement's start is the nearest to the rest the arms have been."""
    from common.cli.score import summary_text
    from services.renderer.samples import state_for
    from services.renderer.screen import summary_words

    p, w, times, size = poses("lateral_raise_waist_up_gym", model)
    frames = at_15fps(times) if rate == "15fps" else range(len(p))
    scorer = SessionScorer(routines.load("arm_raise"))
    said = [(times[i], scorer.update(times[i], p[i], w[i], frame_size=size).guidance) for i in frames]
    summary = scorer.summary()
    lateral = count("lateral_raise", p, w, times, size, list(frames))
    after = [g for t, g in said if t >= 1.75]  # the first raise down again (README)
    told = after.count("shoulder.more") / len(after)
    depth = summary.get("rep_depth") or {}
    line = summary_text(summary)
    state = state_for("summary_shallow", "ko")  # a shallow session's summary, shown for this routine
    state.routine = routines.load("arm_raise")
    state.session = dataclasses.replace(state.session, routine="arm_raise", summary=summary)
    words, _ = summary_words(state, summary, float(summary["score"]))
    print(f"\nlateral raises [arm_raise] {model} {rate}: counted {summary['reps']}, truth 4 raises to shoulder "
          f"height; score {summary['score']} (as lateral_raise: {lateral['reps']} counted, {lateral['score']}); "
          f"height {depth.get('degrees')} of {depth.get('target_degrees')} deg ({depth.get('share')}); "
          f"'shoulder.more' on {told:.0%} of frames after the first raise\n  score: {line}\n  TV: {words}")
    assert summary["reps"] == 4
    assert 0.5 <= depth["share"] < 1.0, "shoulder height is short of the overhead target"
    assert summary["deeper"] == summary["advice"] == "shoulder.more"
    # Posture within their own height (as lateral_raise, about 95) times a height of 0.55-0.7 of the target.
    assert 40.0 <= summary["score"] < lateral["score"]
    share = f"{100 * depth['share']:.0f}"
    assert f"{share}% of the routine's depth ({depth['degrees']:.0f} of {depth['target_degrees']:.0f} deg" in line, line
    assert f"깊이: 목표의 {share}%" in words and "더 연습할 점: 팔을 머리 위로 더 올리세요" in words, words
    assert told > 0.5


def test_a_joint_guessed_adds_no_range_of_motion_sample():
    """Pure logic: the knees read at 0.35 (above the 0.3 that still gives an angle, below the 0.4
    the counter calls seen well): the hips' and knees' angles are not recorded, the arms' are."""
    scorer = SessionScorer(routines.load("arm_raise_seated"))
    pose = np.zeros((len(COMMON_INDEX), 3))
    for name, (x, y) in {"nose": (150, 40), "left_shoulder": (180, 90), "right_shoulder": (120, 90),
                         "left_elbow": (200, 140), "right_elbow": (100, 140), "left_wrist": (205, 190),
                         "right_wrist": (95, 190), "left_hip": (170, 220), "right_hip": (130, 220),
                         "left_knee": (175, 300), "right_knee": (125, 300), "left_ankle": (175, 380),
                         "right_ankle": (125, 380)}.items():
        pose[COMMON_INDEX[name]] = (x, y, 0.35 if "knee" in name or "ankle" in name else 0.9)
    for name, a, b in (("neck", "left_shoulder", "right_shoulder"), ("mid_hip", "left_hip", "right_hip")):
        pose[COMMON_INDEX[name]] = (pose[COMMON_INDEX[a]] + pose[COMMON_INDEX[b]]) / 2
    for k in range(20):
        raised = pose.copy()
        raised[[COMMON_INDEX["left_wrist"], COMMON_INDEX["right_wrist"]], 1] -= 5 * k
        scorer.update(k / 10, raised, None, (300, 400))
    rom = scorer.summary()["range_of_motion"]
    assert joint_angles(pose)["left_hip"] is not None  # the angle exists; it is not recorded
    assert {"left_elbow", "right_elbow", "left_shoulder", "right_shoulder"} <= set(rom)
    assert not {"left_hip", "right_hip", "left_knee", "right_knee"} & set(rom)


def shallow_cut(knees: list[float | None], deepest: float = 120.0) -> tuple[list[int], int]:
    """Which pose each frame shows when the squats stop at `deepest`: its own while the knees are
    above it (or not read), else the last one above it (a hold at the turning point); and the cut's
    own truth: the runs of held frames with frames above the cut on both sides, each a repetition
    that went down to the cut and came back."""
    shown, last, holds, holding = [], 0, 0, False
    for i, k in enumerate(knees):
        if k is None or k > deepest:
            holds += holding
            holding, last = False, i
        else:
            holding = i > 0
        shown.append(last)
    return shown, holds


SQUATS = ["squat_goblet_oblique_gym", "squat_arms_up_front_studio", "squat_side_studio", "squat_dumbbell_front_home"]


SHORT_OF_EXACT = "not exact yet (docs/scoring.md, counting table): counted below the cut's truth"
# Why each is short (measured on the cut, excursions as the counter saw them; docs/scoring.md):
SHORT_BECAUSE = {
    # (BlazePose's goblet cut counts 6 of 6 since its first squat, 0.599 of the target, under the floor's 0.6,
    # waits and is judged by his own range: reps._Counter.own_level)
    ("squat_goblet_oblique_gym", "movenet-lightning"): "5 of 6: MoveNet reads the first squat's far knee 0.11-0.18 "
                                                       "of the target while the near one reads 0.45-0.85 (a repetition's "
                                                       "depth is the least moved knee's under half the floor), and the "
                                                       "hips not bending with them (moves_with)",
    # a 2D model from the front: the knee's bend is foreshortened (the TV asks MoveNet users to turn sideways for
    # squats; the side cut counts 8 of 8). The held frame (the last above 120 deg by BlazePose, going down) reads
    # 14-20 deg of knee bend, inside the start band, for the 1.3-2.5 s hold; 24-37 deg only for 2-5 frames going up
    ("squat_dumbbell_front_home", "movenet-lightning"): "0 of 5: read 0.56-0.62 of the target (one over the 0.6 "
                                                        "floor, so nothing calibrates), out of the start band 0.17-0.23 s "
                                                        "(the shortest counted 0.25 s), 2 with the hips not bending "
                                                        "half as far (moves_with)",
    ("squat_arms_up_front_studio", "movenet-lightning"): "0 of 3: read 0.63-0.68 of the target, out of the start "
                                                         "band 0.17-0.21 s (the shortest counted 0.25 s), 2 with the "
                                                         "hips not bending half as far (moves_with)",
}
SHALLOW = [pytest.param(clip, model, marks=pytest.mark.xfail(reason=f"{SHORT_OF_EXACT}: {SHORT_BECAUSE[clip, model]}",
                                                             strict=False)
                        if (clip, model) in SHORT_BECAUSE else ())
           for clip in SQUATS for model in MODELS]


@pytest.mark.parametrize("clip, model", SHALLOW)
def test_shallow_squats_are_counted_and_their_depth_noted(poses, clip, model):
    """Made from real frames (the set has no shallow squats): every squat stops at 120 deg at the
    knee and holds there (BlazePose's 3D reading decides the cut, the same frames for both models);
    the clip's own clock."""
    pb, wb, _, _ = poses(clip, "blazepose-full")
    knees = []
    for q, world in zip(pb, wb):
        a = joint_angles(q, world)
        both = [a[k] for k in ("left_knee", "right_knee") if a[k] is not None]
        knees.append(min(both) if both else None)
    shown, truth = shallow_cut(knees)
    p, w, times, size = poses(clip, model)
    summary = count("squat", [p[i] for i in shown], [w[i] for i in shown], times, size)
    print("\n" + _report(f"{clip} cut above 120 deg (made)", "squat", model, "native", truth, summary))
    assert summary["reps"] <= truth  # never more than were done
    assert summary["reps"] == truth
    assert summary["rep_depth"]["share"] < 1.5  # reported shallower than the full squats (about 2)


def hold_right_leg_still(p, w):
    """The high knees with the right knee and ankle kept, relative to the right hip, where they were
    on the frame the right hip was straightest (standing): one leg moves, the other stands."""
    k, a, h = (COMMON_INDEX[n] for n in ("right_knee", "right_ankle", "right_hip"))
    hips = [joint_angles(q, x)["right_hip"] for q, x in zip(p, w)]
    stand = int(np.nanargmax([np.nan if v is None else v for v in hips]))
    out_p, out_w = [], []
    for q, x in zip(p, w):
        q = q.copy()
        q[[k, a], :2] = q[h, :2] + (p[stand][[k, a], :2] - p[stand][h, :2])
        if x is not None:
            x = x.copy()
            x[[k, a]] = x[h] + (w[stand][[k, a]] - w[stand][h])
        out_p.append(q)
        out_w.append(x)
    return out_p, out_w


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("model", MODELS)
def test_one_leg_only_is_counted_on_its_side(poses, model, rate):
    """Made from real frames (the set has no one-sided movement): the high knees with the right leg
    held still count the left's 9 and nothing on the right."""
    p, w, times, size = poses("high_knees_side_gym", model)
    p, w = hold_right_leg_still(p, w)
    summary = count("marching", p, w, times, size, at_15fps(times) if rate == "15fps" else None)
    sides = {"left": 9, "right": 0}
    print("\n" + _report("high knees, right leg held still (made)", "marching", model, rate, 9, summary, sides))
    assert summary["reps_by_side"] == sides and summary["reps"] == 9


def test_zz_the_table(capsys):
    """The figures of this run, as docs/scoring.md shows them."""
    if not TABLE and not MATRIX:
        pytest.skip("no clip was counted in this run")
    with capsys.disabled():
        if MATRIX:
            names = [r for r in ROUTINES if any(k[1] == r for k in MATRIX)]
            print("\nNot the routine's movement (truth 0), counted BlazePose/MoveNet at native, 15 fps "
                  "(· = 0 at both rates, both models; blank = the routine fits the clip):")
            print("| clip | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
            for clip in CLIPS:
                cells = []
                for r in names:
                    got = [MATRIX.get((clip, r, m)) for m in MODELS]
                    if all(g is None for g in got):
                        cells.append("")
                    elif all(g is not None and not any(g.values()) for g in got):
                        cells.append("·")
                    else:
                        cells.append("/".join("-" if g is None else f"{g['native']},{g['15fps']}" for g in got))
                print(f"| {clip} | " + " | ".join(cells) + " |")
        print("\n| clip | routine | model | fps | truth | counted |\n|---|---|---|---|---|---|")
        for clip, routine, model, rate, truth, counted, sides, side in TABLE:
            t = f"{truth} ({sides['left']}+{sides['right']})" if sides else str(truth)
            c = f"{counted} ({side.get('left', 0)}+{side.get('right', 0)})" if sides else str(counted)
            print(f"| {clip} | {routine} | {model} | {rate} | {t} | {c} |")


# -- the same rules in pure logic (no clip needed) ----------------------------------------------
def _counter(name: str):
    from common.coach.reps import RepCounter

    r = routines.load(name)
    return RepCounter(r.reps, r.rep_reference())


def test_a_knee_extension_one_leg_at_a_time_counts_each_side():
    """Three extensions of the right leg while the left rests, then three of the left."""
    counter, t = _counter("knee_extension_seated"), 0.0
    for moving in ("right", "left"):
        for _ in range(3):
            for k in range(45):  # 3 s at 15 fps: 90 -> 160 -> 90 deg
                lift = 90 + 70 * (1 - np.cos(2 * np.pi * k / 45)) / 2
                counter.update(t, {f"{moving}_knee": lift, f"{'left' if moving == 'right' else 'right'}_knee": 90.0})
                t += 1 / 15
    print(f"\nknee extension one leg at a time: {counter.by_side()} (truth 3 + 3)")
    assert counter.by_side() == {"left": 3, "right": 3} and counter.count == 6


@pytest.mark.parametrize("fps", [15, 30, 60])
def test_two_squats_a_second_with_jitter_count_once_each(fps):
    """A 40-degree squat every 0.5 s with +-4 deg of noise on every frame: 10 counted, no doubles."""
    rng, counter = np.random.default_rng(1), _counter("squat")
    for k in range(int(6 * fps)):
        t = k / fps
        bend = 0 if t < 1 else 40 * (1 - np.cos(2 * np.pi * (t - 1) / 0.5)) / 2
        knee = 172 - bend + rng.uniform(-4, 4)
        counter.update(t, {"left_knee": knee, "right_knee": knee + rng.uniform(-4, 4)})
    print(f"\n2 squats/s at {fps} fps with jitter: {counter.count} (truth 10), depth {counter.depth()}")
    assert counter.count == 10 and counter.depth()["share"] < 1


def test_shallow_repetitions_count_and_a_sway_does_not():
    """A senior's 35-degree squats count (depth 0.7 of the routine's 50); a 15-degree sway never."""
    for depth, truth in ((35, 4), (15, 0)):
        counter = _counter("squat")
        for k in range(int(15 * 15)):
            t = k / 15
            bend = 0 if t < 1 else depth * (1 - np.cos(2 * np.pi * (t - 1) / 3)) / 2
            counter.update(t, {"left_knee": 168 - bend, "right_knee": 168 - bend})
        print(f"\n{depth}-degree squats: {counter.count} (truth {truth}), depth {counter.depth()}")
        assert counter.count == truth


def test_a_restarted_session_keeps_the_counts_per_side():
    """The scoring service's checkpoint carries left and right, not only their sum."""
    scorer = SessionScorer(routines.load("marching"))
    for side, n in (("left", 4), ("right", 3)):
        scorer.reps.counters[side].count = n
    again = SessionScorer(routines.load("marching"))
    again.restore(scorer.checkpoint())
    assert again.summary()["reps_by_side"] == {"left": 4, "right": 3} and again.summary()["reps"] == 7


def test_the_session_record_checks_the_counts_per_side_and_the_depth_at_decode():
    from common.bus import messages

    def session(**summary):
        return messages.encode(messages.Session(seq=1, t_capture_ns=1, session_id="s", event="end", routine="marching",
                                                participant="p", started_unix=1.0,
                                                summary={"score": 50.0, "reps": 18, **summary}))

    good = {"reps_by_side": {"left": 9, "right": 9}, "rep_depth": {"share": 0.73, "degrees": 36.5, "target_degrees": 50.0}}
    assert messages.decode("session", session(**good)).summary["reps_by_side"] == {"left": 9, "right": 9}
    for bad in ({"reps_by_side": {"left": -1}}, {"reps_by_side": {"up": 3}}, {"reps_by_side": [9, 9]},
                {"rep_depth": {"share": -2}}):
        with pytest.raises(messages.MalformedMessage, match="reps_by_side"):
            messages.decode("session", session(**bad))


def test_a_lone_movement_is_not_a_repetition_until_one_like_it_follows():
    """The bundled routines' `repeats`: one squat alone (a crouch, a dance step) counts nothing; the
    second like it counts both at once, then each counts as it ends. A first one unlike the next
    (a 60-degree crouch, then 32-degree squats: deeper by more than twice) is dropped."""
    def squats(depths, fps=15):
        counter, t = _counter("squat"), 0.0
        shown = []
        for depth in [0] + depths:
            for k in range(int(2 * fps)):
                bend = depth * (1 - np.cos(2 * np.pi * k / (2 * fps))) / 2
                counter.update(t, {"left_knee": 172 - bend, "right_knee": 172 - bend})
                t += 1 / fps
            shown.append(counter.count)
        return shown[1:], counter

    for depths, truth in (([45], [0]), ([45, 45, 45], [0, 2, 3]), ([80, 32, 32], [0, 0, 2])):
        shown, counter = squats(depths)
        print(f"\nsquats of {depths} deg: counted after each {shown} (truth {truth}), first ones dropped "
              f"{counter.counters['both'].unconfirmed}")
        assert shown == truth


@pytest.mark.parametrize("depths, truth", [([27, 45, 45, 45], [0, 2, 3, 4]), ([27], [0]), ([27, 70, 70, 70], [0, 0, 2, 3])])
def test_a_first_shallow_squat_is_judged_by_their_own_range(depths, truth):
    """Drawn: a first squat of 27 deg (0.54 of the routine's 50, short of the 30-deg floor), done
    before any clear one showed the person's range, then squats of 45 deg: it waits and counts with
    the first clear one (27 deg is over half of their own 45); alone it never counts; before 70-deg
    squats (half of them is 35) it is dropped. Count shown after each squat."""
    counter, t, shown = _counter("squat"), 0.0, []
    for depth in [0] + depths:
        for k in range(30):  # 2 s at 15 fps
            bend = depth * (1 - np.cos(2 * np.pi * k / 30)) / 2
            counter.update(t, {"left_knee": 172 - bend, "right_knee": 172 - bend})
            t += 1 / 15
        shown.append(counter.count)
    print(f"\nsquats of {depths} deg: counted after each {shown[1:]} (truth {truth}), depth {counter.depth()}")
    assert shown[1:] == truth


def test_another_movement_between_two_alike_leaves_the_first_alone():
    """Drawn: a squat (the hips bending with the knees), a knee dip with the trunk upright (rejected by
    moves_with), then three squats: the first waits for a second like it, the dip between drops it,
    and the next three count (2 at the fourth bend, 3 at the fifth). Count shown after each bend."""
    counter, t, shown = _counter("squat"), 0.0, []
    for hips_share in (0.0, 1.0, 0.1, 1.0, 1.0, 1.0):
        depth = 0 if hips_share == 0.0 else 45
        for k in range(60):  # 2 s at 30 fps
            bend = depth * (1 - np.cos(2 * np.pi * k / 60)) / 2
            hip = 175 - hips_share * bend
            counter.update(t, {"left_knee": 172 - bend, "right_knee": 172 - bend, "left_hip": hip, "right_hip": hip})
            t += 1 / 30
        shown.append(counter.count)
    print(f"\nsquat, knee dip, squat, squat, squat: counted after each {shown[1:]} (truth [0, 0, 0, 2, 3])")
    assert shown[1:] == [0, 0, 0, 2, 3]


@pytest.mark.parametrize("hips_share, truth", [(1.0, 5), (0.8, 5), (0.2, 0)])
def test_a_squat_bends_the_hips_with_the_knees(hips_share, truth):
    """Drawn: five 45-degree knee bends, the hips flexing `hips_share` of the knees' degrees. A squat
    sits back (the squat's keyframes: 80 deg of hip for 75 of knee); a knee dip with the trunk upright
    (a jump's landing) bends the knees alone: RepRule.moves_with, relative to the repetition itself."""
    counter = _counter("squat")
    for k in range(int(12 * 30)):
        t = k / 30
        bend = 0 if t < 1 else 45 * (1 - np.cos(2 * np.pi * (t - 1) / 2)) / 2
        hip = 175 - hips_share * bend
        counter.update(t, {"left_knee": 172 - bend, "right_knee": 172 - bend, "left_hip": hip, "right_hip": hip})
    print(f"\nknees bent 45 deg, hips {hips_share:.1f} of that: counted {counter.count} (truth {truth})")
    assert counter.count == truth


@pytest.mark.parametrize("other_knee, truth", [(0.0, 5), (0.8, 0)])
def test_a_march_keeps_the_standing_knee_straight(other_knee, truth):
    """Drawn: five left knee lifts (hip 175 -> 125 deg, knee bending with it). The standing right
    knee straight: 5 on the left; bending `other_knee` of the hip's degrees as the left thigh comes
    up, as a squat's does (both legs at once): none (RepRule.moves_with, the other side held still)."""
    counter = _counter("marching")
    for k in range(int(10 * 30)):
        t = k / 30
        lift = 0 if t < 1 else 50 * max(0.0, np.sin(2 * np.pi * (t - 1) / 2)) ** 2
        counter.update(t, {"left_hip": 175 - lift, "right_hip": 175.0, "left_knee": 175 - 1.5 * lift,
                           "right_knee": 175 - other_knee * lift, "trunk_lean": 5.0})
    print(f"\nleft knee lifts, standing knee bending {other_knee:.1f} of the hip: counted {counter.by_side()} (truth left {truth})")
    assert counter.by_side() == {"left": truth, "right": 0}


@pytest.mark.parametrize("hips_down, truth", [(0.05, 5), (0.5, 0)])
def test_a_march_keeps_the_hips_up(hips_down, truth):
    """Drawn: five left knee lifts (hip 175 -> 125 deg) with the standing knee not seen (MoveNet
    from the side) and the hips coming down `hips_down` of their standing height over the floor at
    each lift: a march's bounce (the real high knees: 0.18 at most) counts 5 on the left; a squat's
    descent (the goblet squats read by MoveNet: 0.62) none (RepRule.hips_stay_up)."""
    counter = _counter("marching")
    pose = np.zeros((len(COMMON_INDEX), 3))
    pose[:, 2] = 0.9
    for k in range(int(11.5 * 30)):
        t = k / 30
        lift = 0 if t < 1 else np.sin(np.pi * (t - 1) / 2) ** 2  # up at 2, 4, 6, 8, 10 s
        pose[COMMON_INDEX["mid_hip"], 1] = 300 + hips_down * 200 * lift  # standing 200 px over the floor
        pose[COMMON_INDEX["left_ankle"], 1] = 500 - 60 * lift  # the lifted foot
        pose[COMMON_INDEX["right_ankle"], 1] = 500
        counter.update(t, {"left_hip": 175 - 50 * lift, "right_hip": 175.0, "left_knee": 175 - 75 * lift,
                           "right_knee": None, "trunk_lean": 5.0}, pose=pose)
    print(f"\nleft knee lifts, the hips {hips_down:.2f} of their height down: counted {counter.by_side()} (truth left {truth})")
    assert counter.by_side() == {"left": truth, "right": 0}


def _drawn_bends(routine: str, hips_across: float = 0.0, feet_spread: float = 0.0) -> int:
    """Drawn: five knee-and-hip bends of 80 deg, 2 s each (a squat; from seated, a chair stand), the
    hips moving across the picture at `hips_across` of their standing height over the floor a second,
    the ankles moving apart and back together by `feet_spread` of it in each bend; the count."""
    counter, rise = _counter(routine), routine == "chair_stand_30s"
    pose = np.zeros((len(COMMON_INDEX), 3))
    pose[:, 2] = 0.9
    for k in range(int(11.5 * 30)):
        t = k / 30
        bend = 0 if t < 1 else np.sin(np.pi * (t - 1) / 2) ** 2  # bent at 2, 4, 6, 8, 10 s
        apart = 40 + feet_spread * 200 * bend  # the feet's distance across the picture, px
        bend = 1 - bend if rise else bend  # a chair stand starts seated and rises
        pose[COMMON_INDEX["mid_hip"], :2] = 640 + hips_across * 200 * max(0.0, t - 1), 300 + 60 * bend
        pose[COMMON_INDEX["left_ankle"], :2] = 640 + apart / 2, 500  # standing 200 px over the floor
        pose[COMMON_INDEX["right_ankle"], :2] = 640 - apart / 2, 500
        knee, hip = 172 - 80 * bend, 175 - 80 * bend
        counter.update(t, {"left_knee": knee, "right_knee": knee, "left_hip": hip, "right_hip": hip}, pose=pose)
    return counter.count


@pytest.mark.parametrize("routine", ["squat", "chair_stand_30s"])
@pytest.mark.parametrize("across, truth", [(0.3, 5), (1.5, 0)])
def test_a_squat_is_done_in_place(routine, across, truth):
    """Drawn bends (_drawn_bends), the hips moving across the picture (each counted excursion lasts
    1.2 s): swaying or sitting back (the real squats' hips: 0.51 of their standing height over a
    repetition at most) counts 5; walking across (the walker of two_people_sports2d as chair stands,
    MoveNet: 1.1-2.3 over a repetition) none (RepRule.in_place)."""
    count = _drawn_bends(routine, hips_across=across)
    print(f"\n[{routine}] hips across {across:.1f} of their standing height a second: counted {count} (truth {truth})")
    assert count == truth


@pytest.mark.parametrize("routine", ["squat", "chair_stand_30s"])
@pytest.mark.parametrize("spread, truth", [(0.2, 5), (0.8, 0)])
def test_a_squat_keeps_the_feet_where_they_stand(routine, spread, truth):
    """Drawn bends (_drawn_bends), the ankles moving apart and back together in each: a stance
    shifting a little (the real squats' ankles: 0.34 of the hips' standing height over a repetition
    at most, both models) counts 5; the feet jumping apart and together (the jumper of
    two_people_sports2d counted as chair stands by BlazePose: 0.80-0.96) none (RepRule.in_place)."""
    count = _drawn_bends(routine, feet_spread=spread)
    print(f"\n[{routine}] feet apart and together by {spread:.1f} of the hips' standing height: counted {count} "
          f"(truth {truth})")
    assert count == truth


@pytest.mark.parametrize("arms, truth", [("still", 6), ("reaching forward", 6), ("up, down, up...", 0)])
def test_a_squat_puts_the_arms_where_the_last_one_did(arms, truth):
    """Drawn: six 40-degree knee bends, the hips bending as far (a squat's way). The arms still at
    the sides, or reaching forward 70 deg at every bottom (the side-view squatter does): 6. The arms
    overhead at one bottom and down at the next, as a jumping jack lands (feet apart, then together;
    seen side on its knee dips pass for shallow squats): none, each unlike the one before
    (reps._Counter._arms_elsewhere)."""
    counter, t = _counter("squat"), 0.0
    for k in range(7):  # a still start, then six bends of 2 s at 30 fps
        for i in range(60):
            bend = 0 if k == 0 else (1 - np.cos(2 * np.pi * i / 60)) / 2
            shoulder = {"still": 15.0, "reaching forward": 15 + 70 * bend,
                        "up, down, up...": 15 + 155 * (k % 2) * min(1.0, 3 * bend)}[arms]
            counter.update(t, {"left_knee": 172 - 40 * bend, "right_knee": 172 - 40 * bend, "left_hip": 175 - 40 * bend,
                               "right_hip": 175 - 40 * bend, "left_shoulder": shoulder, "right_shoulder": shoulder})
            t += 1 / 30
    c = counter.counters["both"]
    print(f"\nsquats, the arms {arms}: counted {counter.count} (truth {truth}), first ones dropped with the arms "
          f"elsewhere {c.arms_elsewhere}")
    assert counter.count == truth
