"""Programs (#46): the program file model, `silvergym program check|build`, finding the movements
in a long instructor video, and a participant scored part by part (ProgramSession)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

SILVERGYM = [sys.executable, "-m", "common.cli"]


def silvergym(*args, cwd=REPO):
    return subprocess.run([*SILVERGYM, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_bundled_programs_load_and_fit_the_published_schema():
    import jsonschema

    from common.coach import program as programs

    schema = json.loads((REPO / "docs/schemas/program.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    assert programs.bundled(), "at least one bundled program (make demo runs one)"
    for name in programs.bundled():
        data = json.loads((REPO / "common/coach/programs" / f"{name}.json").read_text(encoding="utf-8"))
        errors = list(validator.iter_errors(data))
        assert not errors, f"{name}: {errors[0].message}"
        p = programs.load(name)
        schedule = p.schedule()
        assert len(schedule) == len(p.parts) >= 2
        assert all(a < b <= c for a, b, c in schedule), schedule
        assert schedule[-1][2] == pytest.approx(p.duration_s)


def test_the_program_score_is_the_mean_of_the_scored_parts():
    from common.coach.program import program_score

    parts = [{"score": 80.0, "scored": True}, {"score": None, "scored": False, "rested": True},
             {"score": 60.0, "scored": True}, {"score": 0.0, "scored": False, "skipped": True}]
    assert program_score(parts) == 70.0
    assert program_score([{"score": None, "scored": False}]) is None


@pytest.mark.parametrize("change, words", [
    (lambda d: d["parts"][0].update(rest_s=-1), "parts.0.rest_s"),
    (lambda d: d["parts"][0].update(routine="no_such_routine"), "parts.0.routine: no routine 'no_such_routine'"),
    (lambda d: d["parts"][0].update(start_s=5.0), "give both start_s and end_s"),
    (lambda d: d["parts"][0].update(start_s=5.0, end_s=2.0), "must be after start_s"),
    (lambda d: d["parts"][1].update(same_as=1), "must name an earlier part"),
    (lambda d: d.update(parts=[]), "parts"),
    (lambda d: d["parts"][0].update(reps_target=3), "parts.0.reps_target: unknown key"),
    (lambda d: d.pop("title"), "the field 'title' is missing"),
])
def test_program_check_names_what_is_wrong_in_one_line(tmp_path, change, words):
    data = json.loads((REPO / "common/coach/programs/short_program.json").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    r = silvergym("program", "check", str(path))
    assert r.returncode == 2, r.stdout
    assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr


def test_program_check_lists_the_parts_of_a_good_file():
    r = silvergym("program", "check", "short_program")
    assert r.returncode == 0, r.stderr
    assert "3 parts" in r.stdout and "arm_raise" in r.stdout and "marching" in r.stdout


def test_program_build_refuses_bad_input_in_one_line(tmp_path):
    for args, words in ((["build", str(tmp_path / "none.mp4"), "--out", str(tmp_path / "p.json")], "no such video"),
                        (["build", str(tmp_path / "none.mp4")], "needs VIDEO and --out"),
                        (["build", str(tmp_path / "none.mp4"), "--out", str(tmp_path / "p.txt")], ".json"),
                        (["check"], "needs FILE")):
        r = silvergym("program", *args)
        assert r.returncode == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
