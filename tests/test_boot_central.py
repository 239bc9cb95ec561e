"""[boot] deploy/install-central.sh on a fresh Debian 12 booted under a real systemd (tests/boot.py),
as tests/test_boot.py does for the Pi's install.sh.

Run by `make test-boot`; skipped with the reason where this machine cannot make or boot a container.
From outside, as an installer would check it: both units active under their own user, a session
and a test fall alert sent with `silvergym send-test` stored by the collector, a staff account made
with `silvergym users` that sees the senior by name and the alert at Seoul's time on the web app
(the container shares this machine's network), and a killed collector restarted by systemd.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests import boot
from tests.conftest import REPO, wait_for

pytestmark = pytest.mark.boot
SLOW = boot.slowdown()
UNITS = ("silvergym-collector@1.service", "silvergym-web.service")
CLI = "/opt/silvergym/.venv/bin/silvergym"
CONFIG = "/etc/silvergym/central.toml"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    reason = boot.why_not_here()
    if reason:
        pytest.skip(reason)
    if boot.emulated():
        # The central side runs on a senior center's server or a cloud machine, not on the Pi:
        # booted on this machine's own architecture (make test-boot), not again under emulation.
        pytest.skip(f"the central side is booted natively ({boot.NATIVE}), not under {boot.arch()} emulation")
    for port in (1883, 8090):
        if not boot.port_free(port):
            pytest.skip(f"port {port} is in use on this machine; the container shares its network")
    work = tmp_path_factory.mktemp("boot-central")
    log = open(work / "debootstrap.log", "ab")
    base = boot.base_root(log)
    root = work / "root"
    boot.copy_tree(base, root)
    boot.prepare_emulated(root)
    boot.copy_tree(REPO, root / "root" / "silvergym", exclude=(".venv", ".git", "out", ".pytest_cache"))
    trust = Path("/usr/local/share/ca-certificates")
    if trust.is_dir():
        boot.copy_tree(trust, root / "usr/local/share/ca-certificates")
        (root / "etc/pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
    binds = []
    for name, inside in (("apt-archives", "/var/cache/apt/archives"), ("pip", "/root/.cache/pip")):
        (boot.cache_dir() / name).mkdir(exist_ok=True)
        binds.append((boot.cache_dir() / name, inside))
    box = boot.Machine(root, binds, work / "console.log")
    try:
        booted_s = box.boot()
        started = time.monotonic()
        done = box.run("bash", "/root/silvergym/deploy/install-central.sh", check=False, timeout=900 * min(SLOW, 3),
                       env={"DEBIAN_FRONTEND": "noninteractive"})
        (work / "install-central.log").write_text(done.stdout + done.stderr)
        print(f"\nfirst boot {booted_s:.1f} s, install-central.sh {time.monotonic() - started:.1f} s, exit {done.returncode}")
        assert done.returncode == 0, f"install-central.sh exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
        yield box
    finally:
        box.kill()
        shutil.rmtree(root, ignore_errors=True)


def active(box) -> bool:
    return all(box.systemctl_show(u, "ActiveState")["ActiveState"] == "active" for u in UNITS)


def test_the_central_units_come_up_under_their_own_user(server):
    wait_for(lambda: active(server), 60 * SLOW, 0.5, "the collector and the web app active after install-central.sh")
    for u in UNITS:
        props = server.systemctl_show(u, "User", "UnitFileState", "ActiveState", "Restart")
        print(f"{u}: {props}")
        assert props["User"] == "silvergym-central" and props["UnitFileState"] == "enabled"
        assert props["Restart"] == "on-failure"
    wait_for(lambda: not boot.port_free(8090), 60 * SLOW, 0.5, "the web app listening on 8090")


def test_send_test_reaches_the_store_and_staff_see_it_on_the_web_app(server):
    requests = pytest.importorskip("requests")
    wait_for(lambda: active(server), 60 * SLOW, 0.5, "both units active")
    sent = server.run(CLI, "send-test", "--broker", "127.0.0.1:1883", "--site", "center1", "--device", "pi7",
                      "--participant", "kim", "--name", "김영희", check=False, timeout=120)
    print(sent.stdout, sent.stderr)
    assert sent.returncode == 0 and sent.stdout.count(": stored") == 2
    made = server.run("bash", "-c", f"echo '{PASSWORD}' | runuser -u silvergym-central -- {CLI} users add anna "
                      f"--role staff --site center1 --config {CONFIG}", check=False)
    assert made.returncode == 0, made.stderr
    http = requests.Session()
    page = http.get("http://127.0.0.1:8090/login", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    http.post("http://127.0.0.1:8090/login", data={"csrfmiddlewaretoken": token, "username": "anna",
                                                   "password": PASSWORD}, timeout=30)
    week = http.get("http://127.0.0.1:8090/", timeout=30).text
    print(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", week))[:600])
    journal = server.run("journalctl", "-u", "silvergym-web", "-n", "40", "--no-pager", check=False).stdout
    assert "김영희" in week and "한국 시간" in week and "확인했습니다" in week, journal


def test_a_killed_collector_is_restarted_by_systemd(server):
    wait_for(lambda: active(server), 60 * SLOW, 0.5, "both units active")
    unit = UNITS[0]
    pid = int(server.systemctl_show(unit, "MainPID")["MainPID"])
    killed = time.monotonic()
    os.kill(server.host_pid(pid), signal.SIGKILL)

    def restarted() -> bool:
        props = server.systemctl_show(unit, "MainPID", "ActiveState")
        return props["ActiveState"] == "active" and int(props["MainPID"]) not in (0, pid)
    wait_for(restarted, 30 * SLOW, 0.5, "the collector restarted after kill -9")
    print(f"collector pid {pid} killed with -9; systemd started it again after {time.monotonic() - killed:.1f} s")
    sent = server.run(CLI, "send-test", "--broker", "127.0.0.1:1883", "--site", "center1", "--device", "pi7",
                      check=False, timeout=120)
    assert sent.returncode == 0 and sent.stdout.count(": stored") == 2, sent.stdout + sent.stderr
