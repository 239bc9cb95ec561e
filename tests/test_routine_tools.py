"""`silvergym routine build/import` and `silvergym score`: real model on real clips, real CLI."""
from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest

from common.cli.routine import BODY25_TO_COCO
from common.coach import routine as routines
from common.coach.keypoints import COCO17
from common.coach.synthetic import pose3d
from models import catalog
from tests.conftest import REPO, media_file


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "common.cli", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=300)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    try:
        catalog.paths("blazepose-full")
    except catalog.ModelError as exc:
        pytest.skip(f"{exc} (make test fetches it)")
    out = tmp_path_factory.mktemp("routines")
    paths = {}
    for clip in ("dancer", "squat_man"):
        paths[clip] = out / f"{clip}.json"
        done = cli("routine", "build", str(media_file(f"{clip}.mp4")), "-o", str(paths[clip]))
        assert done.returncode == 0, done.stderr
    return paths


def score(routine, clip, *extra) -> dict:
    done = cli("score", "--routine", str(routine), "--video", str(media_file(f"{clip}.mp4")), "--json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_built_routine_has_keyframes_angles_and_reference_keypoints(built):
    r = routines.load(str(built["dancer"]))
    assert len(r.keyframes) == 42 and r.duration_s == pytest.approx(4.1, abs=0.05)
    assert {"left_elbow", "right_knee", "left_shoulder"} <= set(r.joints)
    assert r.keyframes[10].keypoints and len(r.keyframes[10].keypoints) == 19


def test_a_video_scored_against_its_own_routine(built):
    assert score(built["dancer"], "dancer")["score"] >= 95
    assert score(built["squat_man"], "squat_man")["score"] >= 95


def test_one_second_late_still_scores_high_and_naive_does_not(built):
    lagged = score(built["dancer"], "dancer", "--lag", "1")
    naive = score(built["dancer"], "dancer", "--lag", "1", "--naive")
    assert lagged["score"] >= 90
    assert naive["score"] < lagged["score"] - 40


def test_a_different_exercise_scores_low(built):
    assert score(built["dancer"], "squat_man")["score"] < 30
    assert score(built["squat_man"], "dancer")["score"] < 30


def test_summary_line_has_every_field(built):
    s = score(built["dancer"], "dancer")
    assert {"score", "frames", "frames_scored", "reps", "joints", "range_of_motion", "alerts"} <= set(s)
    assert s["frames"] == 42


def test_missing_video_is_one_line_and_exit_2():
    done = cli("score", "--routine", "squat", "--video", "/nonexistent.mp4", "--json")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: input /nonexistent.mp4")


# -- importers: keypoints other tools produced ------------------------------------------------
ARMS_UP = {"left_shoulder": 150.0, "right_shoulder": 150.0, "left_elbow": 170.0, "right_elbow": 170.0}


def synthetic_coco_frames(n=20):
    frames = []
    for i in range(n):
        angle = 20 + 130 * i / (n - 1)
        xyz = pose3d({"left_shoulder": angle, "right_shoulder": angle})
        frames.append([[float(x), float(y), 0.9] for x, y, _ in xyz[: len(COCO17)]])
    return frames


def check_import(tmp_path, fmt, path, frames):
    out = tmp_path / f"{fmt}.json"
    done = cli("routine", "import", str(path), "--format", fmt, "--fps", "10", "-o", str(out))
    assert done.returncode == 0, done.stderr
    r = routines.load(str(out))
    assert len(r.keyframes) == len(frames)
    assert r.keyframes[0].angles["left_shoulder"] == pytest.approx(20, abs=2)
    assert r.keyframes[-1].angles["left_shoulder"] == pytest.approx(150, abs=2)
    assert r.duration_s == pytest.approx((len(frames) - 1) / 10)


def test_import_openpose_body25(tmp_path):
    frames = synthetic_coco_frames()
    folder = tmp_path / "openpose"
    folder.mkdir()
    for i, kps in enumerate(frames):
        body = np.zeros((25, 3))
        for name, j in BODY25_TO_COCO.items():
            body[j] = kps[COCO17.index(name)]
        (folder / f"clip_{i:012d}_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": body.reshape(-1).tolist()}]}))
    check_import(tmp_path, "openpose", folder, frames)


def test_import_alphapose(tmp_path):
    frames = synthetic_coco_frames()
    results = []
    for i, kps in enumerate(frames):
        results.append({"image_id": f"{i}.jpg", "category_id": 1, "keypoints": sum(kps, []), "score": 2.5})
        results.append({"image_id": f"{i}.jpg", "category_id": 1, "keypoints": [0.0] * 51, "score": 0.4})
    path = tmp_path / "alphapose-results.json"
    path.write_text(json.dumps(results))
    check_import(tmp_path, "alphapose", path, frames)


def coco_file(tmp_path, frames) -> Path:
    data = {"images": [{"id": i, "file_name": f"{i}.jpg"} for i in range(len(frames))],
            "annotations": [{"id": i, "image_id": i, "keypoints": sum(k, []), "num_keypoints": 17, "area": 5000.0}
                            for i, k in enumerate(frames)]}
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(data))
    return path


def test_import_coco(tmp_path):
    frames = synthetic_coco_frames()
    check_import(tmp_path, "coco", coco_file(tmp_path, frames), frames)


def test_a_held_squat_on_a_real_clip_counts_no_repetition(built):
    # squat_man.mp4 holds one deep squat for the whole clip: the known count is 0, whatever the jitter.
    assert score("squat", "squat_man")["reps"] == 0
    assert score("chair_stand_30s", "squat_man")["reps"] == 0


def test_a_joint_the_model_reads_differently_twice_is_left_out_of_a_built_routine():
    """Pure logic: a routine built from squatting poses whose second reading (the video changed
    invisibly) puts the left arm 25 deg higher on one frame in five leaves that shoulder out;
    a steady second reading keeps every joint."""
    from common.cli.routine import build
    from common.coach.synthetic import common_pose

    fps = 10.0
    knee = [175 - 40 * (1 - np.cos(2 * np.pi * i / 30)) for i in range(60)]
    first = [common_pose({"left_knee": k, "right_knee": k}) for k in knee]
    again = [common_pose({"left_knee": k, "right_knee": k, "left_shoulder": 40 if i % 5 == 0 else 15})
             for i, k in enumerate(knee)]
    worlds = [None] * len(first)
    steady = build("steady", first, worlds, fps, "steady", reread=(first, worlds))
    shaky = build("shaky", first, worlds, fps, "shaky", reread=(again, worlds))
    assert "left_shoulder" in steady.joints and "left_knee" in steady.joints
    assert "left_shoulder" not in shaky.joints and set(shaky.joints) == set(steady.joints) - {"left_shoulder"}


def test_a_routine_gets_the_title_it_is_given_and_the_tv_never_shows_its_file_name(tmp_path):
    """[demo] `routine build/import --title`: Korean words, or en=… for English; without one the TV
    says "오늘의 운동" / "Today's exercise", never `squats_from_clip`. A bad title is one line, exit 2."""
    from services.renderer.samples import state_for
    from services.renderer.screen import routine_title

    path = coco_file(tmp_path, synthetic_coco_frames())
    titled, untitled = tmp_path / "arms_from_clip.json", tmp_path / "squats_from_clip.json"
    done = cli("routine", "import", str(path), "--format", "coco", "-o", str(titled), "--title", "팔 올리기",
               "--title", "en=Arm raises")
    assert done.returncode == 0, done.stderr
    assert cli("routine", "import", str(path), "--format", "coco", "-o", str(untitled)).returncode == 0
    shown = {}
    for file in (titled, untitled):
        for locale in ("ko", "en"):
            s = state_for("exercise", locale, 0.0)
            s.routine = routines.load(str(file))
            shown[(file.stem, locale)] = routine_title(s)
    print(f"\ntitles on the TV: {shown}")
    assert shown[("arms_from_clip", "ko")] == "팔 올리기" and shown[("arms_from_clip", "en")] == "Arm raises"
    assert shown[("squats_from_clip", "ko")] == "오늘의 운동" and shown[("squats_from_clip", "en")] == "Today's exercise"
    bad = cli("routine", "import", str(path), "--format", "coco", "-o", str(tmp_path / "x.json"), "--title", "en=")
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: --title") and bad.stderr.count("\n") == 1
