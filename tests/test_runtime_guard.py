"""[reliability] findings 4 and 7: no way onto the bus for another local user, one instance only,
and no orphans when the supervisor is killed. Needs nothing from ../shared."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from common.bus.runtime import (
    AlreadyRunning,
    RuntimeDirError,
    hold_instance_lock,
    prepare_runtime_dir,
)
from common.mosquitto import free_port
from tests.conftest import REPO, wait_for
from tests.test_uplink import uplink_config


def in_a_child(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """prepare_runtime_dir sets the process's umask: try it in a child, not in pytest."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def test_the_socket_folder_is_made_private_and_its_sockets_are_0600(tmp_path):
    folder = tmp_path / "run" / "silvergym"
    done = in_a_child(f"""
import os, zmq
from common.bus.runtime import prepare_runtime_dir
from common.bus.sockets import Publisher
path = prepare_runtime_dir({str(folder)!r})
ctx = zmq.Context(); pub = Publisher(ctx, "ipc://" + str(path / "x.sock"))
print(oct(os.stat(path).st_mode & 0o777), oct(os.stat(path / "x.sock").st_mode & 0o777))
pub.close(); ctx.term()
""", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0o700", "0o600"]


def test_a_folder_opened_to_everyone_is_closed_again(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    done = in_a_child(f"from common.bus.runtime import prepare_runtime_dir; prepare_runtime_dir({str(folder)!r})",
                      tmp_path)
    assert done.returncode == 0, done.stderr
    assert os.stat(folder).st_mode & 0o777 == 0o700


@pytest.mark.skipif(os.getuid() != 0, reason="making a folder owned by another user needs root")
def test_a_folder_made_by_another_user_is_refused_with_one_line(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    os.chown(folder, 12345, 12345)
    with pytest.raises(RuntimeDirError, match="belongs to user id 12345.*remove it"):
        prepare_runtime_dir(str(folder))


def test_a_file_or_a_link_in_its_place_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(RuntimeDirError, match="is a file"):
        prepare_runtime_dir(str(tmp_path / "file"))
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RuntimeDirError, match="symbolic link"):
        prepare_runtime_dir(str(tmp_path / "link"))


def test_a_second_instance_is_refused_naming_the_first(tmp_path):
    first = hold_instance_lock(tmp_path, "run")
    try:
        with pytest.raises(AlreadyRunning, match=f"already running \\(pid {os.getpid()}"):
            hold_instance_lock(tmp_path, "run")
    finally:
        first.close()
    hold_instance_lock(tmp_path, "run").close()  # free again once the first is gone


def test_one_run_at_a_time_and_no_orphans_after_a_sigkill(tmp_path):
    """Tier 3: `silvergym run` (the uplink alone, towards a port nobody serves); a second run is
    refused with one line naming the first; SIGKILL of the first ends its child too."""
    config = tmp_path / "silvergym.toml"
    config.write_text(uplink_config(tmp_path, free_port()) + '\n[supervisor]\nservices = ["uplink"]\n')
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        first = subprocess.Popen([sys.executable, "-m", "common.cli", "run", "--config", str(config)], stdout=out,
                                 stderr=subprocess.STDOUT, cwd=REPO)
    try:
        wait_for(lambda: "started uplink" in log.read_text(), 30, what="the uplink started")
        child = int(log.read_text().split("started uplink (pid ")[1].split(")")[0])
        second = subprocess.run([sys.executable, "-m", "common.cli", "run", "--config", str(config)],
                                capture_output=True, text=True, cwd=REPO, timeout=60)
        assert second.returncode == 2
        assert second.stderr.strip().splitlines()[-1].startswith(f"error: silvergym run is already running (pid {first.pid}")
        first.send_signal(signal.SIGKILL)
        first.wait(10)

        def gone() -> bool:
            try:
                return Path(f"/proc/{child}/stat").read_text().split()[2] == "Z"
            except FileNotFoundError:
                return True
        wait_for(gone, 10, what="the orphaned uplink to stop")
        print(f"\nsecond run refused; uplink pid {child} ended after the supervisor's SIGKILL")
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


def test_a_password_given_to_run_never_appears_in_a_childs_command_line(tmp_path):
    """[reliability] finding 5: `--set uplink.password=…` reaches the services without showing
    in `ps` (argv is world-readable; the environment only to the owner)."""
    config = tmp_path / "silvergym.toml"
    config.write_text(uplink_config(tmp_path, free_port()) + '\n[supervisor]\nservices = ["uplink"]\n')
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        run = subprocess.Popen([sys.executable, "-m", "common.cli", "run", "--config", str(config),
                                "--set", "uplink.password=hunter2-secret"], stdout=out, stderr=subprocess.STDOUT,
                               cwd=REPO)
    try:
        wait_for(lambda: "started uplink" in log.read_text(), 30, what="the uplink started")
        child = int(log.read_text().split("started uplink (pid ")[1].split(")")[0])
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        environ = Path(f"/proc/{child}/environ").read_bytes()
        assert b"hunter2" not in cmdline and b"hunter2-secret" in environ
        assert oct(Path(f"/proc/{child}/environ").stat().st_mode & 0o777) == "0o400"
    finally:
        run.terminate()
        run.wait(10)
