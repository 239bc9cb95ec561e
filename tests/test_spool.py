"""Tier 1/2: the on-disk spool (real SQLite in WAL mode)."""
import sqlite3
import time

import pytest

from common.spool import Spool, SpoolFull


def test_alerts_first_then_sessions_in_order_and_idempotent(tmp_path):
    spool = Spool(tmp_path / "s.db")
    spool.put("s1", "session", {"n": 1})
    spool.put("s2", "session", {"n": 2})
    spool.put("a1", "alert", {"kind": "fall"})
    spool.put("s1", "session", {"n": 1})  # the same record again is stored once
    assert [r.msg_id for r in spool.peek()] == ["a1", "s1", "s2"]
    spool.delete("a1")
    assert spool.depth() == 2
    spool.close()
    assert sqlite3.connect(tmp_path / "s.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_survives_reopening(tmp_path):
    Spool(tmp_path / "s.db").put("s1", "session", {"score": 90.5, "name": "김영희"})
    again = Spool(tmp_path / "s.db")
    [record] = again.peek()
    assert record.payload == {"score": 90.5, "name": "김영희"}


def test_full_spool_drops_week_old_alerts_but_never_a_session(tmp_path):
    spool = Spool(tmp_path / "s.db", max_rows=3)
    spool.put("old-alert", "alert", {})
    spool.db.execute("UPDATE outbox SET created = ? WHERE msg_id = 'old-alert'", (time.time() - 8 * 86400,))
    spool.put("s1", "session", {})
    spool.put("s2", "session", {})
    spool.put("s3", "session", {})  # full: the week-old alert makes room
    assert {r.msg_id for r in spool.peek()} == {"s1", "s2", "s3"}
    with pytest.raises(SpoolFull, match="unreachable"):
        spool.put("s4", "session", {})
    assert spool.depth() == 3
