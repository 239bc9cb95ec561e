"""[truth] The cue table: each routine's corrections in words right for its movement, each naming a
direction (common/coach/cues.py, docs/routines.md "Cue table"); on real clips every cue a
routine gives comes from that routine's table, and the TV's words are the table's."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from common.coach import cues
from common.coach import routine as routines
from common.coach.scoring import SessionScorer
from tests.conftest import MEDIA
from tests.graph import core_model

REPO = Path(__file__).resolve().parents[1]
# Real people (../shared/media and its dev/; the repository's own squat clip always).
CLIPS = [REPO / "media" / "demo" / "squats_5reps.mp4", MEDIA / "dev" / "squat_side_studio.mp4",
         MEDIA / "dev" / "lateral_raise_waist_up_gym.mp4", MEDIA / "dev" / "high_knees_side_gym.mp4",
         MEDIA / "dev" / "jumping_jacks_fast_front_gym.mp4", MEDIA / "stretch_side_view.mp4"]


def test_every_bundled_routine_has_words_for_each_scored_joint_and_direction_each_naming_a_direction():
    for name in routines.bundled():
        routine = routines.load(name)
        table = cues.table(routine)
        for joint in routine.joints:
            for direction in cues.DIRECTIONS:
                assert f"{joint}.{direction}" in table, f"{name}: no words for {joint}.{direction}"
        for cue in table.values():
            assert cue.ko and cue.en and not cues.directionless(cue.ko, "ko") and not cues.directionless(cue.en, "en"), \
                f"{name}: {cue.key} says {cue.ko!r} / {cue.en!r}"
    squat, marching = cues.table(routines.load("squat")), cues.table(routines.load("marching"))
    # The report's finding: in a squat a hip that should close is sitting back, not lifting a knee.
    assert "무릎" not in squat["right_hip.less"].ko and "엉덩이" in squat["right_hip.less"].ko
    assert "무릎" in marching["right_hip.less"].ko and "높이" in marching["right_hip.less"].ko
    assert squat["trunk_lean.less"].ko == "상체를 조금 더 세우세요"


# A physiotherapist's review: people at risk of falling are never told to lean forward while they
# march, stand on one leg or extend a knee seated; the trunk cue says sit or stand up straight.
UPRIGHT_ONLY = ("marching", "marching_seated", "balance_hold", "knee_extension_seated", "squat_seated")


@pytest.mark.parametrize("name", UPRIGHT_ONLY)
def test_a_fall_risk_routines_trunk_cue_only_ever_says_sit_or_stand_up_straight(name):
    table = cues.table(routines.load(name))
    trunk = [c for k, c in table.items() if k.startswith("trunk_lean.")]
    assert trunk, f"{name} scores the trunk's lean"
    for c in trunk:
        print(f"{name} {c.key}: {c.ko} / {c.en}")
        assert "곧게" in c.ko and "앞으로" not in c.ko and "기울" not in c.ko and "숙이" not in c.ko, c.ko
        assert any(w in c.en for w in ("straight", "upright", "tall")) and "forward" not in c.en.lower() \
            and "lean" not in c.en.lower(), c.en


def test_a_routine_file_carries_its_own_cues_and_one_without_a_direction_is_refused():
    data = routines.to_json(routines.load("squat"))
    data["cues"] = {"knee.less": {"ko": "의자에 앉듯이 더 내려가세요", "en": "Go lower, as if onto a chair", "phase": "down"}}
    own = routines.parse(json.loads(json.dumps(data)))
    assert cues.table(own)["knee.less"].ko == "의자에 앉듯이 더 내려가세요"
    assert cues.table(own)["left_knee.less"].ko != "의자에 앉듯이 더 내려가세요"  # the one-side key keeps the movement's
    assert routines.parse(routines.to_json(own)).cues == own.cues  # written back as read
    for bad, said in (({"trunk_tilt.less": {"ko": "조금 덜 기울이세요", "en": "Lean sideways"}}, "does not name a direction"),
                      ({"trunk_lean.less": {"ko": "상체를 세우세요", "en": "Lean less"}}, "does not name a direction"),
                      ({"kneee.less": {"ko": "무릎을 굽히세요", "en": "Bend"}}, "must be '<joint>.more'")):
        with pytest.raises(routines.RoutineError, match=said):
            routines.parse({**data, "cues": bad})
    with pytest.raises(routines.RoutineError, match="unknown movement"):
        routines.parse({**data, "movement": "yoga"})
    built = routines.parse({**data, "name": "from_a_video", "movement": "squat"})
    assert cues.table(built)["hip.less"] == cues.table(routines.load("squat"))["hip.less"]


@pytest.fixture(scope="module")
def real_poses():
    from common.cli.routine import poses_from_video, video_size

    found = [c for c in CLIPS if c.exists()]
    return {c.name: (*poses_from_video(str(c), core_model())[::2], video_size(str(c))) for c in found}


def test_every_cue_given_on_real_clips_comes_from_the_routines_table_and_names_a_direction(real_poses):
    from services.renderer.screen import ScreenState, cue_text
    from services.renderer.text import load_texts

    if len(real_poses) < len(CLIPS):
        print(f"only {sorted(real_poses)}: ../shared/media is absent")
    texts = {**load_texts("ko"), "_locale": "ko"}
    for name in routines.bundled():
        routine = routines.load(name)
        table = cues.table(routine)
        given: dict[str, int] = {}
        for clip, (poses, fps, size) in real_poses.items():
            scorer = SessionScorer(routine)
            for i, pose in enumerate(poses):
                t = i / fps
                if t > routine.duration_s:
                    break
                key = scorer.update(t, pose, None, size).guidance
                if key:
                    given[key] = given.get(key, 0) + 1
        corrections = [k for k in given if cues.KEY.match(k)]
        hints = sorted(k for k in given if not cues.KEY.match(k))
        print(f"{name}: {len(corrections)} corrections given {sum(given[k] for k in corrections)} times "
              f"({', '.join(f'{k} {table[k].ko}' for k in corrections if k in table)}); other hints {hints}")
        if not corrections and len(real_poses) < len(CLIPS):
            print(f"{name}: not checked, no correction on {sorted(real_poses)} alone (../shared/media is absent)")
            continue
        assert corrections, f"{name}: no correction on any real clip (the check would prove nothing)"
        state = ScreenState(routine=routine, texts=texts)
        for key in corrections:
            assert key in table, f"{name}: cue {key} is not in its table"
            assert not cues.directionless(table[key].ko, "ko") and not cues.directionless(table[key].en, "en")
            assert cue_text(state, key) == table[key].ko, "the TV says the table's words"
        assert all(k in texts for k in hints), f"{name}: a hint without words: {hints}"


def test_score_json_gives_the_corrections_as_keys_and_words(real_poses, tmp_path):
    import subprocess
    import sys

    clip = CLIPS[0]
    # The squatting man against the arm raise: his arms stay down while the routine raises them.
    out = subprocess.run([sys.executable, "-m", "common.cli", "score", "--routine", "arm_raise", "--video", str(clip),
                          "--model", core_model(), "--json"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    table = cues.table(routines.load("arm_raise"))
    print(f"score --json corrections: {summary['corrections']}")
    assert summary["corrections"], "arms down through an arm raise get at least one correction"
    for c in summary["corrections"]:
        assert c["ko"] == table[c["key"]].ko and c["en"] == table[c["key"]].en
    np.testing.assert_array_equal(len({c["key"] for c in summary["corrections"]}), len(summary["corrections"]))


@pytest.mark.parametrize("model", ["movenet-lightning", "blazepose-full"])
def test_a_squat_deeper_than_the_target_is_never_told_to_bend_more(model):
    """dev/squat_side_studio.mp4: 8 deep squats (knees to ~60-80 deg, the routine's bottom 100).
    Rising fast, the person is ahead of the moment judged, so per frame the knee read straighter
    than that moment's target and the TV said "왼쪽 무릎도 같이 굽히세요" (left_knee.less; MoveNet 25
    frames, BlazePose 34, with knee.less and hip.less more) to someone already deeper than asked.
    Going further toward the movement's extreme is judged per repetition (scoring.RangeWatch):
    never said once the repetition got there. Every frame of both models."""
    from tests.conftest import clip_poses

    poses, worlds, fps, size = clip_poses()("dev/squat_side_studio.mp4", model)
    routine = routines.load("squat")
    scorer = SessionScorer(routine)
    given: dict[str, int] = {}
    for i, (pose, world) in enumerate(zip(poses, worlds)):
        key = scorer.update(i / fps, pose, world, size).guidance
        if key:
            given[key] = given.get(key, 0) + 1
    table = cues.table(routine)
    bend_more = {k for k in table if k.endswith(("knee.less", "hip.less"))}  # bend the knees, sit back more
    summary = scorer.summary()
    print(f"\n{model}: {summary['reps']} reps, score {summary['score']}; cues "
          + ", ".join(f"{k} x{n} '{table[k].ko}'" if k in table else f"{k} x{n}" for k, n in given.items()))
    assert summary["reps"] >= 7, "the deep squats are counted (truth: 8)"
    assert not bend_more & set(given), f"a deep squatter told to bend more: {sorted(bend_more & set(given))}"


def test_corrections_in_the_same_words_are_listed_once():
    """[truth] Two cue keys may say the same (a marching trunk leaning either way: '상체를 곧게
    세우세요'); the summary, `score --json` and the report list each wording once, under its first key."""
    marching = routines.load("marching")
    table = cues.table(marching)
    assert table["trunk_lean.more"].ko == table["trunk_lean.less"].ko, "the table no longer shares these words"
    listed = cues.corrections(marching, ["trunk_lean.more", "trunk_lean.less", "trunk_lean.more"])
    print(f"given trunk_lean.more, trunk_lean.less, trunk_lean.more: listed {listed}")
    assert [c["key"] for c in listed] == ["trunk_lean.more"]
    # A program's summary joins its parts' lists: the same words from two parts once.
    assert cues.distinct_words(listed + cues.corrections(routines.load("marching_seated"), ["trunk_lean.less"])) == listed


def test_a_built_routine_of_a_known_movement_coaches_only_that_movements_joints():
    """A squat built from a video where the arms swing: its scored joints are the squat table's
    (knees, hips, trunk), never the elbows or shoulders; an unknown movement keeps every joint."""
    joints = {j: object() for j in ("left_knee", "right_knee", "left_hip", "trunk_lean", "trunk_tilt",
                                    "left_elbow", "right_shoulder")}
    assert sorted(cues.coached_joints("squat", joints)) == ["left_hip", "left_knee", "right_knee", "trunk_lean",
                                                            "trunk_tilt"]
    assert sorted(cues.coached_joints("arm_raise", joints)) == ["left_elbow", "right_shoulder"]
    assert cues.coached_joints("", joints) == joints and cues.coached_joints("joint", joints) == joints


def _opposites(listed: list) -> list[tuple[str, str]]:
    """The pairs of listed corrections that tell one joint opposite ways (both-sides keys move both)."""
    found = []
    for i, a in enumerate(listed):
        for b in listed[i + 1:]:
            (da, ja), (db, jb) = cues._joints_of(a["key"]), cues._joints_of(b["key"])
            if da and db and da != db and ja & jb:
                found.append((a["ko"], b["ko"]))
    return found


def test_a_summary_never_tells_one_joint_two_opposite_ways_composed():
    """[truth] Composed cue sequences (not a clip): of two opposite corrections for one joint the summary
    keeps the summary's advice, else the one the TV said for more Scores, else the first said; a
    both-sides key contradicts either side's; same-direction and other joints' stay, in order."""
    arm = routines.load("arm_raise")
    said = ["left_shoulder.less"] * 4 + ["left_shoulder.more"] * 9 + ["elbow.more"] * 5 + ["left_elbow.less"] * 2
    listed = cues.corrections(arm, said)
    print(f"said {cues._counted(said)}: listed {[c['ko'] for c in listed]}")
    assert [c["key"] for c in listed] == ["left_shoulder.more", "elbow.more"]  # the longer said of each pair
    assert not _opposites(listed)
    # The summary's advice (its weakest joint's correction, the one the TV names to practise) wins.
    assert [c["key"] for c in cues.corrections(arm, said, advice="left_elbow.less")] == ["left_shoulder.more",
                                                                                         "left_elbow.less"]
    # Said as often: the first said is kept; the right side's is not the left's opposite.
    tie = cues.corrections(arm, ["elbow.less", "right_shoulder.less", "elbow.more", "left_shoulder.more"])
    assert [c["key"] for c in tie] == ["elbow.less", "right_shoulder.less", "left_shoulder.more"]
    # A map of key -> Scores (the scoring service's) is read the same way as the repeated keys.
    assert cues.corrections(arm, cues._counted(said)) == listed
    # Two directions in the same words (a trunk either way: '상체를 곧게 세우세요') are one correction, not two.
    marching = routines.load("marching")
    assert [c["key"] for c in cues.corrections(marching, ["trunk_lean.less", "trunk_lean.more", "trunk_lean.more"])] \
        == ["trunk_lean.less"]


def test_a_real_clips_summary_never_tells_one_joint_two_opposite_ways():
    """[truth] The jumper of jumping_jacks_fast_front_gym through the arm raise, read by MoveNet as `score`
    reads it: the TV told both arms higher for 73 Scores and down for 10 (his flip at the top), the left
    arm down for 4; the summary listed '팔을 머리 위로 더 올리세요' and '팔을 몸 옆으로 내리세요' together.
    Now one direction per joint: the one said longer (the summary's advice is the right elbow's)."""
    from common.coach.session import PersonSession, play_recording
    from tests.conftest import clip_poses

    poses, worlds, fps, size = clip_poses()("dev/jumping_jacks_fast_front_gym.mp4", "movenet-lightning")
    routine = routines.load("arm_raise")
    person, given = PersonSession(routine), []
    play_recording(person, poses, worlds, fps, size, lambda i, t, k, frame: given.append(frame.guidance))
    summary = person.summary("completed")
    table = cues.table(routine)
    counts = {k: n for k, n in cues._counted(given).items() if k in table}
    before = cues.distinct_words([{"key": k, "ko": table[k].ko, "en": table[k].en} for k in counts])
    listed = cues.corrections(routine, given, summary.get("advice", ""))
    print(f"\nsaid (Scores): {counts}\nbefore: {[c['ko'] for c in before]} - opposites {_opposites(before)}"
          f"\nnow: {[c['ko'] for c in listed]} (advice {summary.get('advice')})")
    assert _opposites(before), "the clip no longer gives opposite corrections: the check below proves nothing"
    assert not _opposites(listed)
    kept = {c["key"] for c in listed}
    for dropped in {c["key"] for c in before} - kept:  # each left out for an opposite said longer (or the advice)
        direction, joints = cues._joints_of(dropped)
        opposite = [k for k in kept if cues._joints_of(k)[0] != direction and cues._joints_of(k)[1] & joints]
        assert any(k == summary.get("advice") or counts[k] >= counts[dropped] for k in opposite), dropped
