"""deploy/: systemd units, the installer's plan, and `silvergym doctor`."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from common.mosquitto import LocalBroker, free_port, mosquitto_binary
from tests.conftest import REPO, media_file


def test_units_pass_systemd_analyze_verify(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    unit = (REPO / "deploy/systemd/silvergym@.service").read_text()
    # The installed path is /opt/silvergym; verify against this checkout's venv, which exists here.
    (tmp_path / "silvergym@camera.service").write_text(unit.replace("/opt/silvergym/.venv", str(REPO / ".venv")))
    shutil.copy(REPO / "deploy/systemd/silvergym.target", tmp_path)
    done = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "silvergym@camera.service"),
                           str(tmp_path / "silvergym.target")], capture_output=True, text=True, timeout=60)
    problems = [ln for ln in (done.stdout + done.stderr).splitlines()
                if "silvergym" in ln and "Unit silvergym@" not in ln]  # the target's Wants= name other instances
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


def test_unit_has_watchdog_restart_and_hardening():
    unit = (REPO / "deploy/systemd/silvergym@.service").read_text()
    for key in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "User=silvergym", "ProtectSystem=strict",
                "ReadWritePaths=", "PrivateTmp=yes", "NoNewPrivileges=yes", "SupplementaryGroups=video plugdev"):
        assert key in unit


def test_install_dry_run_prints_the_plan_and_changes_nothing():
    done = subprocess.run(["bash", str(REPO / "deploy/install.sh"), "--dry-run"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    steps = [ln for ln in done.stdout.splitlines() if ln.startswith("== ")]
    assert len(steps) == 11  # 1 Debian's packages, 1b the Edge TPU library, 2..9, 6b its probe
    assert "libedgetpu1-std 16.0tf2.19.1-1" in done.stdout and "systemctl enable silvergym.target" in done.stdout
    assert "edgetpu-probe" in done.stdout and "coral-edgetpu" not in done.stdout
    # [reliability] finding 5: the local broker is not anonymous, its password made once, in 0600 files.
    assert "generate the local broker's password" in done.stdout
    local = (REPO / "deploy/mosquitto/local.conf").read_text()
    assert "allow_anonymous false" in local and "password_file" in local
    assert not any(ln.startswith(("Reading", "Setting up")) for ln in done.stdout.splitlines())
    # [boot]: the models can come from a folder; a wrong one is one line, before anything is done.
    wrong = subprocess.run(["bash", str(REPO / "deploy/install.sh"), "--dry-run", "--models-from", "/nonexistent"],
                           capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1 and "--models-from /nonexistent" in wrong.stderr
    assert wrong.stdout == ""


def doctor(tmp_path, body: str) -> subprocess.CompletedProcess:
    cfg = tmp_path / "doctor.toml"
    cfg.write_text(body)
    return subprocess.run([sys.executable, "-m", "common.cli", "doctor", "--config", str(cfg)], capture_output=True,
                          text=True, cwd=REPO, timeout=120)


def test_doctor_passes_with_what_is_needed_and_warns_about_the_rest(tmp_path):
    done = doctor(tmp_path, f"""
[camera]
source = "{media_file('dancer.mp4')}"
[inference]
model = "movenet-lightning-edgetpu"
[renderer]
display = "headless"
[uplink]
port = {free_port()}
""")
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout
    assert any(ln.startswith("warn  edge tpu") and "libedgetpu built for this TFLite runtime" in ln for ln in lines)
    assert any(ln.startswith("warn  broker") and "spooled" in ln for ln in lines)
    assert any(ln.startswith("ok    font") for ln in lines)


@pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed")
def test_doctor_fails_on_a_missing_camera_and_a_refused_login(tmp_path):
    pw = tmp_path / "passwd"
    pw.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(pw), "pi7", "right"], check=True, timeout=30)
    with LocalBroker(password_file=str(pw), workdir=str(tmp_path / "b")) as broker:
        done = doctor(tmp_path, f"""
[camera]
source = "/dev/video9"
[uplink]
port = {broker.port}
username = "pi7"
password = "wrong"
""")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert any(ln.startswith("FAIL  camera") and "/dev/video9" in ln for ln in lines)
    assert any(ln.startswith("FAIL  broker") and "refused the login" in ln for ln in lines)


def test_doctor_names_a_bad_config_key(tmp_path):
    done = doctor(tmp_path, "[camera]\nsorce = 1\n")
    # Exit 2 as every command's bad input (1 is for a box missing something it needs).
    assert done.returncode == 2 and "camera.sorce: unknown key" in done.stdout
