"""[perf] the interpreter's thread count and the model a box without a Coral should run.

Pure logic with the probe injected; one test measures this machine with the real models."""
from __future__ import annotations

import pytest

from common import config as configuration
from common.cli.doctor import MIN_POSES_PER_S, probe_ms_per_frame, recommend_model
from models import catalog


def test_auto_threads_leave_a_core_for_the_rest_and_stop_at_four():
    assert [configuration.auto_threads(n) for n in (1, 2, 3, 4, 8, 64)] == [1, 1, 2, 3, 4, 4]


def test_threads_are_configurable_per_model():
    cfg = configuration.load(None, {"inference": {"threads": 2, "model_threads": {"blazepose-full": 3}}})
    assert cfg.inference.threads_for("blazepose-full") == 3
    assert cfg.inference.threads_for("movenet-lightning") == 2
    auto = configuration.load(None, {})
    assert auto.inference.threads_for("blazepose-full", cores=4) == 3
    with pytest.raises(configuration.ConfigError, match="model_threads"):
        configuration.load(None, {"inference": {"model_threads": {"blazepose-full": 0}}})


def _all_present(monkeypatch):
    monkeypatch.setattr(catalog, "paths", lambda name, cache="": {})


def test_a_coral_is_recommended_when_one_is_attached(monkeypatch):
    _all_present(monkeypatch)
    cfg = configuration.load(None, {})
    check = recommend_model(cfg, tpu_usable=True, probe=lambda *a: pytest.fail("no CPU probe with a Coral"))
    assert check.level == "warn" and "movenet-lightning-edgetpu recommended instead of blazepose-full" in check.detail
    cfg = configuration.load(None, {"inference": {"model": "movenet-lightning-edgetpu"}})
    assert recommend_model(cfg, tpu_usable=True).level == "ok"


@pytest.mark.parametrize("blazepose_ms, movenet_ms, level, choice", [
    (20.0, 5.0, "ok", "blazepose-full"),  # fast enough: its 3D angles
    (80.0, 30.0, "warn", "movenet-lightning"),  # a Pi 4's CPU: BlazePose cannot keep 15 poses/s
    (200.0, 90.0, "warn", None),  # neither: a Coral is needed
])
def test_without_a_coral_the_choice_follows_the_measured_speed(monkeypatch, blazepose_ms, movenet_ms, level, choice):
    _all_present(monkeypatch)
    cfg = configuration.load(None, {})  # blazepose-full configured
    measured = {"blazepose-full": blazepose_ms, "movenet-lightning": movenet_ms}
    check = recommend_model(cfg, tpu_usable=False, probe=lambda name, threads, cache: measured[name])
    print(check.line())
    assert check.level == level
    assert f"blazepose-full {blazepose_ms:.0f} ms/frame" in check.detail  # says why, with the figures
    if choice == "movenet-lightning":
        assert 'set inference.model = "movenet-lightning"' in check.detail
    if choice is None:
        assert "Coral" in check.detail and "too slow" in check.detail


def test_the_edgetpu_model_without_a_coral_is_judged_by_its_cpu_fallback(monkeypatch):
    _all_present(monkeypatch)
    cfg = configuration.load(None, {"inference": {"model": "movenet-lightning-edgetpu"}})
    check = recommend_model(cfg, tpu_usable=False, probe=lambda name, threads, cache: {"blazepose-full": 80.0}.get(name, 10.0))
    assert check.level == "ok" and check.detail.startswith("movenet-lightning is right")


def test_the_probe_measures_this_machine():
    """The real models on this CPU (a short probe, no timing asserted: only that it measured)."""
    from tests.graph import core_model

    model = core_model()
    ms = probe_ms_per_frame(model, configuration.auto_threads())
    print(f"{model}: {ms:.1f} ms per frame on this machine; {1000 / ms:.0f} poses/s (needs {MIN_POSES_PER_S:.0f})")
    assert 0 < ms < 10_000


def test_the_choice_measures_the_models_in_the_configured_cache(tmp_path, monkeypatch):
    """An installed box keeps its models in /var/cache/silvergym/models (inference.cache_dir), not
    in the user's home: the probe must load them from there (it once looked in ~/.cache and doctor
    died with a traceback inside the installed box)."""
    from tests.graph import core_model

    model = core_model()
    box_cache = tmp_path / "box-cache"
    box_cache.mkdir()
    for path in catalog.paths(model).values():
        (box_cache / path.name).symlink_to(path)
    monkeypatch.setenv("SILVERGYM_MODEL_DIR", str(tmp_path / "empty-home-cache"))
    cfg = configuration.load(None, {"inference": {"model": model, "cache_dir": str(box_cache), "threads": 1}})
    check = recommend_model(cfg, tpu_usable=False)
    print(check.line())
    assert f"{model} " in check.detail and "ms/frame" in check.detail, check.line()
