"""The central store: sessions, alerts, device state and who was told of what, in SQLite or
PostgreSQL. Every reader (the collector, the notifier, `silvergym report`, the web app) goes
through Store; nothing else writes SQL against these tables.

Rows are idempotent on (site, device, msg_id): a message delivered twice is stored once, and one
device cannot pre-claim another's id.
"""
from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from pathlib import Path

SCHEMA_SQL = (
    "CREATE TABLE IF NOT EXISTS sessions (msg_id TEXT, site TEXT, device TEXT, participant TEXT, "
    "routine TEXT, started_unix DOUBLE PRECISION, score DOUBLE PRECISION, reps INTEGER, payload TEXT, "
    "PRIMARY KEY (site, device, msg_id))",
    "CREATE TABLE IF NOT EXISTS alerts (msg_id TEXT, site TEXT, device TEXT, participant TEXT, "
    "kind TEXT, unix DOUBLE PRECISION, payload TEXT, PRIMARY KEY (site, device, msg_id))",
    "CREATE TABLE IF NOT EXISTS devices (site TEXT, device TEXT, state TEXT, health TEXT, updated_unix DOUBLE PRECISION, "
    "PRIMARY KEY (site, device))",
    # Which carer has been told of which alert (common/central/notify.py); carer = hash of its URL.
    "CREATE TABLE IF NOT EXISTS notifications (site TEXT, device TEXT, msg_id TEXT, carer TEXT, "
    "sent_unix DOUBLE PRECISION, PRIMARY KEY (site, device, msg_id, carer))",
    # An alert someone answered in the web app (silvergym serve): who and when; carers not yet told
    # of it are no longer owed a notification.
    "CREATE TABLE IF NOT EXISTS alert_acks (site TEXT, device TEXT, msg_id TEXT, by_user TEXT, "
    "acked_unix DOUBLE PRECISION, PRIMARY KEY (site, device, msg_id))",
)




# The readers' queries of one participant's records, shared with the web app (common/central/web/
# access.py runs them through Django's connection, with its "%s" marks): args (participant, site, device).
SESSIONS_OF_SQL = "SELECT payload FROM sessions WHERE participant = ? AND site = ? AND device = ? ORDER BY started_unix"
ALERTS_OF_SQL = "SELECT payload FROM alerts WHERE participant = ? AND site = ? AND device = ? ORDER BY unix"
MAX_DEVICE_ROWS = 10_000  # devices whose health and status are kept; a fleet is tens to hundreds
LAST_CALENDAR_DAY = 4102444800.0  # 2100-01-01: a later (or negative, or non-finite) time is no clock's


def on_calendar(unix) -> bool:
    """Whether a device's `unix` time is one a report or a notification can print as a date."""
    return isinstance(unix, (int, float)) and math.isfinite(unix) and 0.0 <= unix <= LAST_CALENDAR_DAY


def printable(text, limit: int = 200) -> str:
    """One log line's worth of someone else's text: control characters shown as '?', cut short."""
    text = "".join("?" if ord(c) < 32 or ord(c) == 127 else c for c in str(text)[:limit + 1])
    return text if len(text) <= limit else text[:limit] + "…"


def safe_dsn(dsn: str) -> str:
    """The database address for a log line or an error: a password in it shown as ***."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    if not parts.password:
        return dsn
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))



class Store:
    """SQLite (a file path) or PostgreSQL (a postgresql:// DSN)."""

    def __init__(self, dsn: str):
        self.postgres = dsn.startswith(("postgresql://", "postgres://"))
        if self.postgres:
            import psycopg  # optional: only the central server needs it

            self.db = psycopg.connect(dsn, autocommit=True)
            self.mark = "%s"
        else:
            Path(dsn.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(dsn.removeprefix("sqlite:///"), timeout=10, isolation_level=None,
                                      check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.mark = "?"
        for sql in SCHEMA_SQL:
            self.db.execute(sql)
        self._add_received_column()
        self.lock = threading.Lock()

    def _add_received_column(self) -> None:
        """When the collector stored each alert (added column): a store made before it gets the
        column, its old rows none (they fall back to the device's time)."""
        if self.postgres:
            self.db.execute("ALTER TABLE alerts ADD COLUMN IF NOT EXISTS received_unix DOUBLE PRECISION")
        elif "received_unix" not in {row[1] for row in self.db.execute("PRAGMA table_info(alerts)")}:
            self.db.execute("ALTER TABLE alerts ADD COLUMN received_unix DOUBLE PRECISION")

    def _exec(self, sql: str, args=()):
        with self.lock:
            return self.db.execute(sql.replace("?", self.mark), args)

    def save(self, site: str, device: str, kind: str, data: dict, now: float) -> bool:
        """True when stored, False when it was a duplicate (or needs no storing)."""
        body = json.dumps(data, ensure_ascii=False)
        if kind == "session":
            cur = self._exec("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site, device, msg_id) DO NOTHING",
                             (data["msg_id"], site, device, data["participant"], data["routine"], data["started_unix"],
                              data["summary"]["score"], data["summary"]["reps"], body))
            return cur.rowcount == 1
        if kind == "alert":
            cur = self._exec("INSERT INTO alerts (msg_id, site, device, participant, kind, unix, payload, received_unix) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site, device, msg_id) DO NOTHING",
                             (data["msg_id"], site, device, data.get("participant", ""), data["kind"], data["unix"], body,
                              now))
            return cur.rowcount == 1
        column = "state" if kind == "status" else "health"
        value = data["state"] if kind == "status" else body
        if self._devices_full(site, device):
            return False
        self._exec(f"INSERT INTO devices (site, device, {column}, updated_unix) VALUES (?, ?, ?, ?) "
                   f"ON CONFLICT (site, device) DO UPDATE SET {column} = excluded.{column}, "
                   "updated_unix = excluded.updated_unix", (site, device, value, now))
        return False

    def _devices_full(self, site: str, device: str) -> bool:
        """Whether (site, device) is new and the devices table already holds MAX_DEVICE_ROWS rows: health
        and status from invented devices (a broker without an ACL) cannot grow it without bound."""
        if self._exec("SELECT 1 FROM devices WHERE site = ? AND device = ?", (site, device)).fetchone():
            return False
        return self.count("devices") >= MAX_DEVICE_ROWS

    def holds(self, site: str, device: str, kind: str, data: dict) -> bool:
        """Whether the stored session or alert under data's msg_id is this very record."""
        table = "sessions" if kind == "session" else "alerts"
        row = self._exec(f"SELECT payload FROM {table} WHERE site = ? AND device = ? AND msg_id = ?",
                         (site, device, data["msg_id"])).fetchone()
        return row is not None and row[0] == json.dumps(data, ensure_ascii=False)

    def count(self, table: str) -> int:
        return self._exec(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def participants(self) -> list[str]:
        return [r[0] for r in self._exec("SELECT DISTINCT participant FROM sessions ORDER BY participant").fetchall()]

    def places_of(self, participant: str, site: str | None = None, device: str | None = None) -> list[tuple[str, str]]:
        """The (site, device) pairs that stored sessions of `participant`, narrowed to `site` and
        `device` when given: a participant is known by all three together."""
        rows = self._exec("SELECT DISTINCT site, device FROM sessions WHERE participant = ? ORDER BY site, device",
                          (participant,)).fetchall()
        return [(s, d) for s, d in rows if site in (None, s) and device in (None, d)]

    def sessions_of(self, participant: str, site: str, device: str) -> list[dict]:
        rows = self._exec(SESSIONS_OF_SQL, (participant, site, device))
        return [json.loads(r[0]) for r in rows.fetchall()]

    def class_sessions(self, class_id: str, site: str | None = None, device: str | None = None) -> list[tuple]:
        """(site, device, session) of every session of the class whose id starts with `class_id`
        (hex, as the device logs show its first 8), or of the newest class when it is "latest";
        the class id is a field of the stored payload (group mode), matched as the collector wrote it."""
        where = " AND site = ?" * bool(site) + " AND device = ?" * bool(device)
        places = tuple(v for v in (site, device) if v)
        if class_id == "latest":
            # The newest class that could have happened: an empty class id, or a date past now (a
            # device's wrong clock, a forged 2099), is no class's (one of them made every class "latest").
            rows = self._exec("SELECT payload, started_unix FROM sessions WHERE payload LIKE ?" + where +
                              " ORDER BY started_unix DESC LIMIT 1000", ('%"class_id": "%', *places)).fetchall()
            newest = next((json.loads(p).get("class_id", "") for p, started in rows
                           if on_calendar(started) and started <= time.time() + 300
                           and isinstance(json.loads(p).get("class_id"), str) and json.loads(p)["class_id"]), None)
            if newest is None:
                return []
            class_id = newest
        rows = self._exec("SELECT site, device, payload FROM sessions WHERE payload LIKE ?" + where + " ORDER BY started_unix",
                          (f'%"class_id": "{class_id}%', *places)).fetchall()
        found = [(r[0], r[1], json.loads(r[2])) for r in rows]
        return [f for f in found if f[2].get("class_id", "").startswith(class_id)]  # LIKE's '_' matched anything

    def alerts_of(self, participant: str, site: str, device: str) -> list[dict]:
        rows = self._exec(ALERTS_OF_SQL, (participant, site, device))
        return [json.loads(r[0]) for r in rows.fetchall()]

    def unsent_alerts(self, carers: list[str], since_unix: float,
                      sites_of: dict[str, tuple[str, ...]] | None = None) -> list[tuple]:
        """(site, device, msg_id, carer, alert) for every alert stored since `since_unix` (the
        collector's clock: a device's own clock may be hours off) some carer has not been sent yet,
        oldest first. `sites_of[carer]`: the only sites that carer hears of (absent: every site).
        An answer in the web app does not cancel it: whoever answered (a family member, say) is not
        every carer, and staff whose webhook was down at the fall are still owed their first
        notification when it is back."""
        out = []
        for carer in carers:
            sites = (sites_of or {}).get(carer)
            if sites is not None and not sites:
                continue
            where_site = "" if sites is None else f" AND a.site IN ({', '.join('?' * len(sites))})"
            rows = self._exec("SELECT a.site, a.device, a.msg_id, a.payload FROM alerts a "
                              "WHERE COALESCE(a.received_unix, a.unix) >= ?" + where_site + " AND NOT EXISTS "
                              "(SELECT 1 FROM notifications n WHERE n.site = a.site AND n.device = a.device "
                              "AND n.msg_id = a.msg_id AND n.carer = ?) ORDER BY a.unix",
                              (since_unix, *(sites or ()), carer)).fetchall()
            out.extend((site, device, msg_id, carer, json.loads(payload)) for site, device, msg_id, payload in rows)
        return out

    def mark_notified(self, site: str, device: str, msg_id: str, carer: str, now: float) -> None:
        self._exec("INSERT INTO notifications VALUES (?, ?, ?, ?, ?) ON CONFLICT (site, device, msg_id, carer) DO NOTHING",
                   (site, device, msg_id, carer, now))

    def close(self) -> None:
        self.db.close()
