import subprocess
import sys

import pytest

from common import config
from tests.conftest import REPO


def test_defaults_validate():
    cfg = config.load(None, {})
    assert cfg.inference.model == "blazepose-full"
    assert cfg.bus.endpoint("camera").startswith("ipc://")


def test_unknown_key_is_named_with_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[camera]\nsourse = 'x.mp4'\n")
    with pytest.raises(config.ConfigError) as err:
        config.load(path)
    assert str(err.value) == f"config {path}: camera.sourse: unknown key"


def test_bad_value_is_named(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[uplink]\nport = 70000\n")
    with pytest.raises(config.ConfigError, match="uplink.port"):
        config.load(path)


def test_password_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("SILVERGYM_MQTT_PASSWORD", "s3cret")
    assert config.load(None, {}).uplink.password == "s3cret"


def test_cli_exits_2_with_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[renderer]\ncolour = 'red'\n")
    done = subprocess.run([sys.executable, "-m", "common.cli", "service", "renderer", "--config", str(path)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: config {path}: renderer.colour: unknown key"


def test_every_field_has_a_description():
    missing = []
    for section in (config.Config, *[f.annotation for f in config.Config.model_fields.values()
                                      if isinstance(f.annotation, type) and issubclass(f.annotation, config.Section)]):
        missing += [f"{section.__name__}.{n}" for n, f in section.model_fields.items() if not f.description]
    assert not missing
