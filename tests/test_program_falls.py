"""`silvergym program score` watches for falls as `silvergym score` does (common/coach/session.py
RecordedFallWatch, the one loop both run): every pose through the fall detector, told while the part
under way lies down (ProgramSession.lying_expected), its alerts in the summary, and the service's
rule at the end (cut_short_by_fall: a fall not got up from ends the session "fall" with `fell`).
Real clips (../shared/media/falls, truth in its README), the Coral's model (MoveNet), the real CLI.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, media_file
from tests.test_falls_real import _floor_truth
from tests.test_program import join_clips

MODEL = "movenet-lightning"


def cli(*argv: str) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "common.cli", *argv, "--model", MODEL],
                         capture_output=True, text=True, cwd=REPO, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    return out


def program_score(program: str, video: str) -> dict:
    return json.loads(cli("program", "score", program, "--video", video, "--json").stdout.splitlines()[-1])


def one_part(tmp_path, routine: str, duration_s: float) -> str:
    path = tmp_path / f"{routine}_only.json"
    path.write_text(json.dumps({"name": "one", "title": {"ko": "한 동작", "en": "One movement"}, "parts": [
        {"name": {"ko": "스쿼트", "en": "Squats"}, "routine": routine, "duration_s": duration_s}]}), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("clip, truth", [("knees_buckle_backward_front.mp4", "fall"),
                                         ("sit_down_on_bed.mp4", "video ended")])
def test_program_score_ends_a_session_with_a_fall_in_it_by_the_services_rule(tmp_path, clip, truth):
    """A program whose part (the bundled squat) the participant's video is a real fall clip in:
    it ends "fall" with `fell` and the alert in the summary, raised within 2 s of the hips reaching
    the floor; a near miss (sitting down on a bed) raises nothing and ends as the video does."""
    summary = program_score(one_part(tmp_path, "squat", 12.0), str(media_file(f"falls/{clip}")))
    floor = f", on the floor at {_floor_truth(clip):.2f} s" if truth == "fall" else ""
    print(f"\n{clip}: truth {truth!r}{floor}; program score ended {summary['ended']!r}, "
          f"fell {summary.get('fell', False)}, alerts {summary['alerts']}")
    assert summary["ended"] == truth and summary.get("fell", False) == (truth == "fall")
    if truth == "fall":
        assert summary["alerts"] and summary["alerts"][0]["t"] <= _floor_truth(clip) + 2.0
    else:
        assert summary["alerts"] == []


def test_a_program_built_with_a_sit_ups_part_raises_nothing_and_a_standing_part_there_is_asked(tmp_path):
    """A joined video, jumping jacks (6 s, standing: the detector learns his upright height) cut
    straight to sit-ups on a floor mat (falls/situps_floor_mat, README: not a fall, lying
    throughout), built into a program (`program build`: the second part lies down) and scored
    against that video: nothing is raised, the session runs its course. The control: the same
    program with the bundled squat (standing) as the second part raises a question at the cut, so
    it is the lying part that keeps it quiet, not a detector that never fires."""
    video = tmp_path / "jacks_then_situps.avi"
    starts = join_clips(video, clips=[("dev/jumping_jacks_fast_front_gym.mp4", 6.0),
                                      ("falls/situps_floor_mat.mp4", 11.9)])
    built = tmp_path / "jacks_situps.json"
    cli("program", "build", str(video), "--out", str(built))
    program = json.loads(built.read_text(encoding="utf-8"))
    spans = [(p.get("start_s"), p.get("end_s")) for p in program["parts"]]
    print(f"\nbuilt parts (s): {spans}; the clips start at {starts}")
    assert len(program["parts"]) == 2

    summary = program_score(str(built), str(video))
    print(f"sit-ups as the built lying part: truth not a fall; ended {summary['ended']!r}, fell "
          f"{summary.get('fell', False)}, alerts {summary['alerts'] or 'nothing raised'}; reps "
          f"{[p['reps'] for p in summary['parts']]} (truth: 6 jumping jacks, 3 sit-ups, the READMEs)")
    assert summary["alerts"] == [] and not summary.get("fell") and summary["ended"] != "fall"

    program["parts"][1]["routine"] = "squat"  # the control: a standing exercise where he lies
    standing = tmp_path / "jacks_squat.json"
    standing.write_text(json.dumps(program), encoding="utf-8")
    control = program_score(str(standing), str(video))
    print(f"the same video with a standing part there (control): alerts {control['alerts']}, ended {control['ended']!r}")
    assert control["alerts"] and control["alerts"][0]["t"] < starts[1] + 3.0
