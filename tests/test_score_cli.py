"""`silvergym score` as a carer or a center's staff first runs it (fresh-eyes trial of #44): the
routine and model come from the config unless given, the output is the summary (a line per frame
only when asked), and a class's lines name each member. Real CLI, real model (MoveNet, the Coral's
CPU twin: quick), real clip (squats_5reps.mp4, 5 squats by the README)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from models import catalog
from tests.conftest import REPO, media_file

MODEL = "movenet-lightning"


def silvergym(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "common.cli", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=600)


@pytest.fixture(scope="module")
def clip() -> str:
    try:
        catalog.paths(MODEL)
    except catalog.ModelError as exc:
        pytest.skip(f"{exc} (make test fetches it)")
    return str(media_file("squats_5reps.mp4"))


def test_score_takes_the_configs_routine_and_says_which_and_prints_the_summary_alone(clip, tmp_path):
    config = tmp_path / "silvergym.toml"
    config.write_text('[scoring]\nroutine = "squat"\n', encoding="utf-8")
    done = silvergym("score", "--config", str(config), "--video", clip, "--model", MODEL)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    print("\n" + "\n".join(lines))
    print("truth: 5 squats (media README)")
    assert lines[0] == f"routine squat (scoring.routine in {config}), model {MODEL}"
    assert len(lines) == 2 and lines[1].startswith("posture score "), "the summary, no per-frame lines"

    framed = silvergym("score", "--config", str(config), "--video", clip, "--model", MODEL, "--frames")
    assert framed.returncode == 0, framed.stderr[-2000:]
    more = framed.stdout.splitlines()
    assert more[0] == lines[0] and more[-1] == lines[-1], "--frames adds lines, changes nothing else"
    assert len(more) > 20 and all(line.startswith("t=") for line in more[1:-1])


def test_score_says_the_routine_given_and_keeps_stdout_json_with_json(clip):
    done = silvergym("score", "--routine", "squat", "--video", clip, "--model", MODEL, "--json",
                     "--set", "scoring.routine=arm_raise")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"routine squat (--routine), model {MODEL}" in done.stderr
    assert len(done.stdout.splitlines()) == 1 and done.stdout.startswith("{")


def test_a_missing_video_is_one_line_before_anything_else(tmp_path):
    done = silvergym("score", "--video", str(tmp_path / "none.mp4"))
    said = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode == 2 and said == [f"error: input {tmp_path / 'none.mp4'} does not exist or is not a file"], said


def test_the_summary_line_says_each_sides_count_and_a_shallow_depth():
    """A fresh-eyes trial (#41): per-side counts and the depth against the routine's target were in
    --json only; a carer reading the line saw '5 reps' for quarter squats (64 % of the target)."""
    from common.cli.score import summary_text

    base = {"score": 16.7, "reps": 5, "joints": {}, "frames_scored": 365, "frames": 365}
    shallow = summary_text({**base, "rep_depth": {"share": 0.64, "degrees": 32.0, "target_degrees": 50.0}})
    full = summary_text({**base, "rep_depth": {"share": 1.02, "degrees": 51.0, "target_degrees": 50.0}})
    sides = summary_text({**base, "reps": 18, "reps_by_side": {"left": 9, "right": 9}})
    print(f"\n{shallow}\n{full}\n{sides}")
    assert "64% of the routine's depth (32 of 50 deg" in shallow
    assert "depth" not in full
    assert "18 reps (left 9, right 9)" in sides
