"""Durable outbox for what must reach the central server: session summaries and alerts.

SQLite in WAL mode. The scoring service puts a record in before it announces it on the bus;
the uplink sends records in priority order (alerts first) and deletes one only after the
broker's PUBACK. Records are keyed by their message id, so putting one twice stores it once.

Bound: at most `max_rows` records. When full, alerts older than a week are dropped first (and
logged); session summaries are never dropped: `put` raises SpoolFull instead, which the caller
logs as an error the installer can act on (free disk, fix the uplink).
"""
from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PRIORITY = {"alert": 10, "session": 0}


class SpoolFull(RuntimeError):
    pass


class SpoolError(RuntimeError):
    """The spool file cannot be written (disk full, read-only, corrupt); str() says which."""


@dataclass(frozen=True)
class Record:
    msg_id: str
    kind: str  # "session" | "alert"
    payload: dict
    created: float


def default_path() -> Path:
    return Path.home() / ".local/state/silvergym/spool.db"


class Spool:
    def __init__(self, path: str | Path = "", max_rows: int = 100_000):
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_rows = max_rows
        # timeout: scoring and uplink write the same file; wait for the other's lock, don't fail.
        self.db = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS outbox (msg_id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
                "priority INTEGER NOT NULL, payload TEXT NOT NULL, created REAL NOT NULL)")
        except sqlite3.Error as exc:
            raise SpoolError(f"spool {self.path}: {exc}") from None

    def put(self, msg_id: str, kind: str, payload: dict) -> None:
        try:
            if self.depth() >= self.max_rows:
                self._make_room()
            self.db.execute("INSERT OR IGNORE INTO outbox VALUES (?, ?, ?, ?, ?)",
                            (msg_id, kind, PRIORITY.get(kind, 0), json.dumps(payload, ensure_ascii=False), time.time()))
        except sqlite3.OperationalError as exc:
            raise SpoolError(f"could not write {kind} {msg_id} to the spool {self.path}: {exc}; "
                             "free disk space, the record is kept in memory and retried") from None

    def _make_room(self) -> None:
        week_ago = time.time() - 7 * 86400
        cur = self.db.execute("DELETE FROM outbox WHERE msg_id IN (SELECT msg_id FROM outbox WHERE kind = 'alert' "
                              "AND created < ? ORDER BY created LIMIT 100)", (week_ago,))
        if cur.rowcount:
            log.warning("spool full (%d records): dropped the %d oldest alerts older than a week", self.max_rows, cur.rowcount)
        if self.depth() >= self.max_rows:
            raise SpoolFull(f"spool {self.path} holds {self.max_rows} unsent records; the broker has been unreachable "
                            "for a long time: check the network and the uplink settings")

    def peek(self, limit: int = 50) -> list[Record]:
        rows = self.db.execute("SELECT msg_id, kind, payload, created FROM outbox ORDER BY priority DESC, created "
                               "LIMIT ?", (limit,)).fetchall()
        return [Record(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    def delete(self, msg_id: str) -> None:
        self.db.execute("DELETE FROM outbox WHERE msg_id = ?", (msg_id,))

    def depth(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def close(self) -> None:
        self.db.close()
