"""Fault injection under `silvergym run`: each test says what it injected and what survived."""
from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys

import pytest

from common.mosquitto import LocalBroker, mosquitto_binary
from common.spool import Spool, SpoolError
from tests.conftest import REPO, wait_for
from tests.graph import core_model, graph_config, short_routine
from tests.test_uplink import Listener

SERVICES = ("camera", "inference", "scoring", "renderer", "uplink")


def started(log) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r"started (\w+) \(pid (\d+)\)", log.read_text())}


@pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed (make test installs it)")
def test_sigkill_each_service_in_turn_and_the_session_is_still_scored_and_delivered(tmp_path, person_clip):
    """Injected: SIGKILL of camera, inference, renderer, uplink and scoring, one after another,
    during one session. Survives: the other services (same pids), the session (resumed by the
    restarted scoring), its delivery (exactly one summary at the broker)."""
    model = core_model()
    routine_file = short_routine(tmp_path, 40)
    broker = LocalBroker(workdir=str(tmp_path / "broker")).start()
    listener = Listener(broker.port)
    cfg = tmp_path / "silvergym.toml"
    text = graph_config(tmp_path, person_clip, model=model, routine=str(routine_file))
    cfg.write_text(re.sub(r"port = \d+", f"port = {broker.port}", text))
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        sup = subprocess.Popen([sys.executable, "-m", "common.cli", "run", "--config", str(cfg)], stdout=out,
                               stderr=subprocess.STDOUT, cwd=REPO)
    try:
        wait_for(lambda: re.search(r"session (\w+) started", log.read_text()), 60, what="a session to start")
        session_id = re.search(r"session (\w+) started", log.read_text())[1]
        for victim in ("camera", "inference", "renderer", "uplink", "scoring"):
            before = started(log)
            os.kill(before[victim], signal.SIGKILL)
            wait_for(lambda: started(log)[victim] != before[victim], 15, what=f"{victim} restarted by the supervisor")
            now = started(log)
            assert all(now[n] == before[n] for n in SERVICES if n != victim), f"killing {victim} restarted others"
        assert "Traceback" not in log.read_text()
        wait_for(lambda: f"resumed session {session_id}" in log.read_text(), 20, what="scoring resuming the session")
        wait_for(lambda: f"session {session_id} ended (completed)" in log.read_text(), 60,
                 what="the same session completed")
        wait_for(lambda: listener.of("/session"), 30, what="the summary at the broker")
        delivered = [m for m in listener.of("/session") if m["session_id"] == session_id]
        assert len(delivered) == 1 and delivered[0]["summary"]["frames_scored"] > 50
    finally:
        sup.send_signal(signal.SIGTERM)
        sup.wait(timeout=10)
        listener.close()
        broker.stop()


def test_spool_disk_full_is_a_clear_error_without_corruption_and_recovers(tmp_path):
    """Injected: the spool's storage fills up (SQLite's page limit gives the same SQLITE_FULL as
    a full disk). Survives: every record already stored; new ones once space returns."""
    spool = Spool(tmp_path / "spool.db")
    spool.db.execute("PRAGMA max_page_count = 12")  # a tiny disk
    stored = 0
    with pytest.raises(SpoolError, match="free disk space"):
        for i in range(10_000):
            spool.put(f"s{i:05d}", "session", {"session_id": f"s{i:05d}", "pad": "x" * 500})
            stored += 1
    assert stored > 0
    check = sqlite3.connect(tmp_path / "spool.db").execute("PRAGMA integrity_check").fetchone()[0]
    assert check == "ok"
    assert spool.depth() == stored
    spool.db.execute("PRAGMA max_page_count = 100000")  # space returns
    spool.put("after", "session", {"session_id": "after"})
    assert spool.depth() == stored + 1
