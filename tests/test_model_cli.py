"""`silvergym models` and `silvergym pose` as a user runs them."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from models import catalog, runtime
from tests.conftest import REPO, SHARED_MODELS, media_file


def cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "common.cli", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=300, env=env)


def test_runtime_adapter_finds_an_interpreter():
    assert runtime.runtime_name() in ("ai_edge_litert", "tflite_runtime", "tensorflow")


def test_catalog_entries_are_complete():
    cat = catalog.load_catalog()
    assert catalog.default_model() == "blazepose-full"
    for spec in cat.values():
        assert spec.files and all(len(f.sha256) == 64 and (f.url or f.wheel) for f in spec.files)
        if spec.runtime == "edgetpu":
            assert cat[spec.cpu_fallback].family == spec.family


def test_fetch_from_a_folder_verifies_and_refuses_a_mismatch(tmp_path):
    src = SHARED_MODELS / "movenet_single_pose_lightning_ptq.tflite"
    if not src.exists():
        pytest.skip(f"{src} is absent (../shared/models)")
    good, bad, cache = tmp_path / "good", tmp_path / "bad", tmp_path / "cache"
    good.mkdir(), bad.mkdir()
    shutil.copy(src, good / src.name)
    (bad / src.name).write_bytes(src.read_bytes()[:-1] + b"\x00")
    refused = cli("models", "fetch", "movenet-lightning", "--cache", str(cache), "--from", str(bad))
    assert refused.returncode == 2 and "refusing it" in refused.stderr
    assert not (cache / src.name).exists()
    listed = cli("models", "list", "--cache", str(cache))
    assert "movenet-lightning" in listed.stdout and "silvergym models fetch movenet-lightning" in listed.stdout
    done = cli("models", "fetch", "movenet-lightning", "--cache", str(cache), "--from", str(good))
    assert done.returncode == 0, done.stderr
    assert catalog.sha256_of(cache / src.name) == catalog.spec("movenet-lightning").files[0].sha256
    assert "present" in cli("models", "list", "--cache", str(cache)).stdout.splitlines()[1]


def test_missing_model_says_how_to_get_it(tmp_path):
    done = cli("pose", str(media_file("three_people.jpg")), "--model", "movenet-lightning", "--cache", str(tmp_path))
    assert done.returncode == 2
    assert "silvergym models fetch movenet-lightning" in done.stderr


@pytest.mark.parametrize("model, count", [("blazepose-full", 33), ("movenet-lightning", 17)])
def test_pose_json_gives_every_frame_in_native_order(model, count):
    try:
        catalog.paths(model)
    except catalog.ModelError as exc:
        pytest.skip(f"{exc} (make test fetches it)")
    done = cli("pose", str(media_file("dancer.mp4")), "--model", model, "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in done.stdout.splitlines()]
    assert [x["frame"] for x in lines] == list(range(42))
    first = lines[5]
    assert (first["width"], first["height"], first["model"], first["backend"]) == (400, 244, model, "cpu")
    assert len(first["keypoints"]) == count and first["keypoints"][0]["name"] == "nose"
    assert lines[1]["t"] == pytest.approx(0.1)
    xs = [k["x"] for k in first["keypoints"] if k["score"] > 0.5]
    assert xs and all(0 <= x <= 400 for x in xs)
    if model == "movenet-lightning":
        assert "keypoints3d" not in first  # no world landmarks: absent, not empty
        return
    world = first["keypoints3d"]
    assert [k["name"] for k in world] == [k["name"] for k in first["keypoints"]]
    # Metres, hip-centred: the hips sit either side of the origin, the nose ~0.5-0.8 m above them.
    by = {k["name"]: k for k in world}
    hips = [[by[f"{s}_hip"][a] for a in "xyz"] for s in ("left", "right")]
    assert sum(abs(a + b) for a, b in zip(*hips)) < 0.05  # the origin lies between the hips
    assert 0.05 < sum((a - b) ** 2 for a, b in zip(*hips)) ** 0.5 < 0.45  # a hip width, in metres
    assert -0.9 < by["nose"]["y"] < -0.4


def test_pose_readable_table_and_bad_input():
    done = cli("pose", "/no/such/file.jpg")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == "error: input /no/such/file.jpg does not exist or is not a file"


def test_require_tpu_exits_3_with_one_line():
    try:
        catalog.paths("movenet-lightning-edgetpu")
    except catalog.ModelError as exc:
        pytest.skip(f"{exc} (make test fetches it)")
    done = cli("pose", str(media_file("three_people.jpg")), "--model", "movenet-lightning-edgetpu", "--require-tpu")
    assert done.returncode == 3
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "libedgetpu built for this TFLite runtime" in errors[0]
