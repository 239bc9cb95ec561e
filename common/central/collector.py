"""`silvergym collect`: the central subscriber. Validates every payload against its JSON Schema
(common/central/schemas, documented in docs/mqtt.md) and stores sessions and alerts in SQLite or
PostgreSQL, idempotent on (site, device, msg_id): a message delivered twice is stored once, and
one device cannot pre-claim another's id.

No message can stop collection: every payload is bounded before it reaches the schema or the
database (size, nesting, integer range, finite numbers, text without control characters), and
anything that still fails is logged once, truncated, counted and acknowledged, never raised into
the MQTT client's network thread (which would die silently and leave the message to be delivered
first again after every restart).
"""
from __future__ import annotations

import json
import logging
import math
import os
import signal
import sqlite3
import threading
import time
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jsonschema

from common import acks

log = logging.getLogger("collector")

KINDS = ("session", "alert", "health", "status")
ACK = "ack"  # silvergym/v1/<site>/<device>/ack: what the collector says back about a session or alert
ACKED_KINDS = ("session", "alert")

# Bounds every payload meets before the schema sees it; they are the storage's own limits too
# (PostgreSQL INTEGER, no NUL in TEXT) and keep a log line short.
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_DEPTH = 12
MAX_TEXT = 2000
MAX_ITEMS = 20000
INT_RANGE = (-(2**31), 2**31 - 1)
FLOAT_LIMIT = 1e12
# What one device may add to the central tables, in payload bytes: a burst, then so much an hour (a
# session is 1-30 kB and a box makes a few a day; a week's backlog after an outage fits in the
# burst). Past it a record is neither stored nor acknowledged: the device keeps it and sends it
# again later, so a device that floods fills its own spool, not the central disk (one device
# added 67 MB in 39 s before).
DEVICE_BYTES_BURST = 20_000_000
DEVICE_BYTES_PER_HOUR = 20_000_000

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


@lru_cache(maxsize=None)
def validator(kind: str) -> jsonschema.Draft202012Validator:
    text = resources.files("common.central").joinpath("schemas").joinpath(f"{kind}.schema.json").read_text(encoding="utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


class Invalid(ValueError):
    pass


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


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def check_bounds(value, where: str = "", depth: int = 0) -> None:
    """Raise Invalid naming the first value outside what storage and logs can take."""
    if depth > MAX_DEPTH:
        raise Invalid(f"{where or '(top)'}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise Invalid(f"{where}: integer out of range")
    elif isinstance(value, float):
        if not math.isfinite(value) or abs(value) > FLOAT_LIMIT:
            raise Invalid(f"{where}: number out of range")
    elif isinstance(value, str):
        if len(value) > MAX_TEXT or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise Invalid(f"{where}: text too long or with control characters")
    elif isinstance(value, list):
        if len(value) > MAX_ITEMS:
            raise Invalid(f"{where}: more than {MAX_ITEMS} items")
        for i, item in enumerate(value):
            check_bounds(item, f"{where}/{i}", depth + 1)
    elif isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            raise Invalid(f"{where}: more than {MAX_ITEMS} keys")
        for key, item in value.items():
            check_bounds(key, f"{where}/(key)", depth + 1)
            check_bounds(item, f"{where}/{printable(key, 40)}", depth + 1)


def ack_payload(msg_id: str, result: str, key: str = "") -> str:
    """The acknowledgement a device waits for before it deletes a record: result is "stored",
    "duplicate" (stored before) or "rejected" (will never be stored; do not send it again); for
    an alert, later "notified" once a carer was told (once per carer). Signed with the device's
    key when the collector has an ack_secret (common/acks.py)."""
    body = {"msg_id": msg_id, "result": result}
    if key:
        body["sig"] = acks.signature(key, msg_id, result)
    return json.dumps(body)


def claimed_id(payload: bytes) -> str | None:
    """The msg_id a rejected payload claims, when one can be read safely (to tell its device to
    stop resending it); None otherwise."""
    try:
        data = _load_json("", payload)
    except Invalid:
        return None
    msg_id = data.get("msg_id") if isinstance(data, dict) else None
    if isinstance(msg_id, str) and 8 <= len(msg_id) <= 200 and msg_id.isprintable():
        return msg_id
    return None


def _load_json(topic: str, payload: bytes):
    """The payload's JSON, or Invalid: over the size bound, not UTF-8, not JSON (NaN and
    Infinity included), or nested too deeply for the parser."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Invalid(f"{topic}: payload of {len(payload)} bytes is over {MAX_PAYLOAD_BYTES}")
    try:
        return json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Invalid(f"{topic}: not UTF-8 JSON ({printable(exc, 120)})") from None
    except RecursionError:
        raise Invalid(f"{topic}: nested deeper than {MAX_DEPTH} levels") from None


def parse(topic: str, payload: bytes) -> tuple[str, str, str, dict]:
    """(site, device, kind, data) or Invalid saying what is wrong."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[:2] != ["silvergym", "v1"] or parts[4] not in KINDS:
        raise Invalid(f"unexpected topic {printable(topic, 120)!r}")
    data = _load_json(topic, payload)
    check_bounds(data)
    errors = sorted(validator(parts[4]).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].path) or "(top)"
        raise Invalid(f"{topic}: {printable(where, 80)}: {printable(errors[0].message, 160)}")
    return parts[2], parts[3], parts[4], data


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
        self.lock = threading.Lock()

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
            cur = self._exec("INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site, device, msg_id) DO NOTHING",
                             (data["msg_id"], site, device, data.get("participant", ""), data["kind"], data["unix"], body))
            return cur.rowcount == 1
        column = "state" if kind == "status" else "health"
        value = data["state"] if kind == "status" else body
        self._exec(f"INSERT INTO devices (site, device, {column}, updated_unix) VALUES (?, ?, ?, ?) "
                   f"ON CONFLICT (site, device) DO UPDATE SET {column} = excluded.{column}, "
                   "updated_unix = excluded.updated_unix", (site, device, value, now))
        return False

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
        rows = self._exec("SELECT payload FROM sessions WHERE participant = ? AND site = ? AND device = ? "
                          "ORDER BY started_unix", (participant, site, device))
        return [json.loads(r[0]) for r in rows.fetchall()]

    def class_sessions(self, class_id: str, site: str | None = None, device: str | None = None) -> list[tuple]:
        """(site, device, session) of every session of the class whose id starts with `class_id`
        (hex, as the device logs show its first 8), or of the newest class when it is "latest";
        the class id is a field of the stored payload (group mode), matched as the collector wrote it."""
        where = " AND site = ?" * bool(site) + " AND device = ?" * bool(device)
        places = tuple(v for v in (site, device) if v)
        if class_id == "latest":
            row = self._exec("SELECT payload FROM sessions WHERE payload LIKE ?" + where + " ORDER BY started_unix DESC "
                             "LIMIT 1", ('%"class_id": "%', *places)).fetchone()
            if row is None:
                return []
            class_id = json.loads(row[0]).get("class_id", "")
        rows = self._exec("SELECT site, device, payload FROM sessions WHERE payload LIKE ?" + where + " ORDER BY started_unix",
                          (f'%"class_id": "{class_id}%', *places)).fetchall()
        found = [(r[0], r[1], json.loads(r[2])) for r in rows]
        return [f for f in found if f[2].get("class_id", "").startswith(class_id)]  # LIKE's '_' matched anything

    def alerts_of(self, participant: str, site: str, device: str) -> list[dict]:
        rows = self._exec("SELECT payload FROM alerts WHERE participant = ? AND site = ? AND device = ? ORDER BY unix",
                          (participant, site, device))
        return [json.loads(r[0]) for r in rows.fetchall()]

    def unsent_alerts(self, carers: list[str], since_unix: float) -> list[tuple]:
        """(site, device, msg_id, carer, alert) for every alert since `since_unix` some carer
        has not been sent yet and nobody has acknowledged in the web app, oldest first."""
        out = []
        for carer in carers:
            rows = self._exec("SELECT a.site, a.device, a.msg_id, a.payload FROM alerts a WHERE a.unix >= ? AND NOT EXISTS "
                              "(SELECT 1 FROM notifications n WHERE n.site = a.site AND n.device = a.device "
                              "AND n.msg_id = a.msg_id AND n.carer = ?) AND NOT EXISTS (SELECT 1 FROM alert_acks k "
                              "WHERE k.site = a.site AND k.device = a.device AND k.msg_id = a.msg_id) ORDER BY a.unix",
                              (since_unix, carer)).fetchall()
            out.extend((site, device, msg_id, carer, json.loads(payload)) for site, device, msg_id, payload in rows)
        return out

    def mark_notified(self, site: str, device: str, msg_id: str, carer: str, now: float) -> None:
        self._exec("INSERT INTO notifications VALUES (?, ?, ?, ?, ?) ON CONFLICT (site, device, msg_id, carer) DO NOTHING",
                   (site, device, msg_id, carer, now))

    def close(self) -> None:
        self.db.close()


def subscription(cfg) -> str:
    """What a collector subscribes to: with MQTT 5 and a group, the shared subscription that lets
    several collectors split the devices' messages (each message goes to one of them)."""
    topic = "silvergym/v1/+/+/#"
    return f"$share/{cfg.shared_group}/{topic}" if cfg.protocol == "5" and cfg.shared_group else topic


class Collector:
    def __init__(self, cfg, store: Store, notifier=None):
        from common.config import mqtt_client

        self.cfg, self.store, self.notifier = cfg, store, notifier
        if notifier is not None:  # the device (and its TV) hears when a carer was told of its alert
            notifier.on_sent = lambda site, device, msg_id: self._ack(site, device, msg_id, "notified")
        self.stored = self.duplicates = self.rejected = self.failed = self.deferred = 0
        self._allowance: dict[tuple[str, str], tuple[float, float]] = {}  # (site, device) -> (bytes left, when)
        self.client = mqtt_client(cfg, cfg.client_id)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self._said_unreachable = False
        self._link = "connecting"  # -> "connected" | "refused" on CONNACK; back on disconnect
        self._said_silent = False
        self.client.reconnect_delay_set(1, 30)

    def _on_connect_fail(self, client, userdata):
        if not self._said_unreachable:  # paho retries every few seconds: say it once until it works
            log.error("broker %s:%d is unreachable (or does not speak MQTT); retrying: check collector.host and "
                      "collector.port, and that the broker runs", self.cfg.host, self.cfg.port)
            self._said_unreachable = True

    def _on_disconnect(self, client, userdata, flags, rc, props):
        if self._link == "connected":
            log.warning("lost the broker %s:%d (%s); reconnecting", self.cfg.host, self.cfg.port, rc)
        elif self._link == "connecting" and not self._said_silent:  # dropped before any CONNACK: said once
            from common.config import silent_broker

            log.error("%s; retrying", silent_broker(self.cfg))
            self._said_silent = True
        self._link = "connecting"

    def _on_connect(self, client, userdata, flags, rc, props):
        self._said_unreachable = False
        self._link = "refused" if rc.is_failure else "connected"
        self._said_silent = self._said_silent and rc.is_failure  # a good connection: say it again next time
        if rc.is_failure:
            log.error("broker %s:%d refused the collector: %s; check collector.username and the password",
                      self.cfg.host, self.cfg.port, rc)
            return
        topic = subscription(self.cfg)
        log.info("subscribed to %s on %s:%d", topic, self.cfg.host, self.cfg.port)
        client.subscribe(topic, qos=1)

    def _on_message(self, client, userdata, msg):
        # Runs on paho's network thread: an exception escaping here would end collection for good.
        try:
            self.handle(msg.topic, msg.payload)
        except Exception as exc:  # noqa: BLE001 - logged, counted and acknowledged; never fatal
            self.failed += 1
            log.error("could not store a message on %s: %s: %s (acknowledged, not stored; failures so far: %d)",
                      printable(msg.topic, 120), type(exc).__name__, printable(exc), self.failed)

    def handle(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        if len(parts) == 5 and parts[4] == ACK:
            return  # our own acknowledgements, seen through the wildcard subscription
        try:
            site, device, kind, data = parse(topic, payload)
        except Invalid as exc:
            self.rejected += 1
            log.warning("rejected a message: %s (nothing stored; rejected so far: %d)", exc, self.rejected)
            msg_id = claimed_id(payload)
            if len(parts) == 5 and parts[4] in ACKED_KINDS and msg_id:
                self._ack(parts[2], parts[3], msg_id, "rejected")
            return
        if kind in ACKED_KINDS and not self._allowed(site, device, len(payload), time.monotonic()):
            self.deferred += 1
            if self.deferred in (1, 10, 100) or self.deferred % 1000 == 0:
                log.warning("%s/%s sends more than %d MB an hour: record not stored for now (the device keeps it "
                            "and sends it again; deferred so far: %d). Check that box's log", printable(site, 64),
                            printable(device, 64), DEVICE_BYTES_PER_HOUR // 1_000_000, self.deferred)
            return
        if self.store.save(site, device, kind, data, time.time()):
            self.stored += 1
            if kind == "alert":
                log.warning("ALERT from %s/%s: %s (%s)", site, device, data["kind"],
                            printable(data.get("participant", ""), 80))
                if self.notifier is not None:
                    self.notifier.wake.set()  # tell the carers now
            result = "stored"
        else:
            if kind in ACKED_KINDS:
                self.duplicates += 1
            result = "duplicate"
        if kind in ACKED_KINDS:
            # Only now, with the row committed, may the device delete its copy.
            self._ack(site, device, data["msg_id"], result)

    def _allowed(self, site: str, device: str, size: int, now: float) -> bool:
        """Whether (site, device) may add `size` more bytes now (a token bucket per device)."""
        left, since = self._allowance.get((site, device), (float(DEVICE_BYTES_BURST), now))
        left = min(float(DEVICE_BYTES_BURST), left + (now - since) * DEVICE_BYTES_PER_HOUR / 3600.0)
        if left < size:
            self._allowance[(site, device)] = (left, now)
            return False
        self._allowance[(site, device)] = (left - size, now)
        return True

    def _ack(self, site: str, device: str, msg_id: str, result: str) -> None:
        key = acks.device_key(self.cfg.ack_secret, site, device) if self.cfg.ack_secret else ""
        self.client.publish(f"silvergym/v1/{site}/{device}/{ACK}", ack_payload(msg_id, result, key), qos=1)

    def start(self) -> None:
        from common.config import mqtt_connect_persistent

        if subscription(self.cfg).startswith("$share/"):
            # In a group, no persistent session: a killed collector's session would go on taking
            # its share of the messages and hold them; the live ones take everything instead, and
            # devices send again what was not acknowledged (docs/mqtt.md).
            self.client.connect_async(self.cfg.host, self.cfg.port, keepalive=30, clean_start=True)
            self.client.loop_start()
            return
        mqtt_connect_persistent(self.client, self.cfg)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def run(args) -> int:
    from common.bus.service import setup_logging
    from common.config import load

    setup_logging("collector")
    os.umask(0o077)  # the database (names, health, falls) is for the central service's user only
    cfg = load(args.config, args.overrides).collector
    try:
        store = Store(cfg.db)
    except (sqlite3.Error, ImportError, OSError) as exc:
        log.error("cannot open the database %s: %s", safe_dsn(cfg.db), exc)
        return 2
    except Exception as exc:  # noqa: BLE001 - psycopg's errors, when PostgreSQL is not reachable
        log.error("cannot reach the database %s: %s; check collector.db and that PostgreSQL runs",
                  safe_dsn(cfg.db), printable(exc))
        return 2
    from common.central.notify import Notifier

    notifier = Notifier(store, cfg.carers, cfg.notify_within_h)
    collector = Collector(cfg, store, notifier)
    from common.bus.runtime import SignalSafeEvent

    stop = SignalSafeEvent()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    notifier.start()  # alerts stored before a restart and not yet sent go out first
    collector.start()
    try:
        stop.wait()
    finally:
        collector.stop()
        notifier.stop()
        log.info("stored %d, duplicates ignored %d, rejected %d, failed %d, deferred (over a device's bound) %d; "
                 "carers notified %d times, %d sends refused", collector.stored, collector.duplicates,
                 collector.rejected, collector.failed, collector.deferred, notifier.sent, notifier.failed)
        store.close()
    return 0
