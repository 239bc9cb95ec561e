"""`silvergym collect`: the central subscriber, in three parts that follow a fall's path:

    common/central/ingest.py   limits per topic (before parsing), bounds, the JSON Schemas
    common/central/alerts.py   the alert lane: its own connection, queue and worker
    common/central/store.py    the database every reader shares
    common/central/notify.py   the carers, told of each stored alert

This module holds the two MQTT connections (alerts; sessions, health and status), hands each
message that passed the limits to its lane, and acknowledges to the device what was stored.

No message can stop collection: whatever fails is logged once, truncated and counted, never
raised into a network thread (which would die silently and leave the message to be delivered
first again after every restart).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import sqlite3
import threading
import time

from common import acks
from common.central.alerts import ALERT_KINDS, ALERT_QUEUE_MAX, RECORD_KINDS, RECORD_QUEUE_MAX, Lane, topics
# The names below were this module's before the split; readers and tests still import them here.
from common.central.ingest import (ACK, ACKED_KINDS, DEVICE_BYTES_BURST, DEVICE_BYTES_PER_HOUR, KINDS,  # noqa: F401
                                   MAX_PAYLOAD_BYTES, Invalid, TopicLimits, check_bounds, claimed_id, parse, validator)
from common.central.store import SCHEMA_SQL, Store, on_calendar, printable, safe_dsn  # noqa: F401

log = logging.getLogger("collector")


def ack_payload(msg_id: str, result: str, key: str = "", digest: str = "") -> str:
    """The acknowledgement a device waits for before it deletes a record (common/acks.py)."""
    return json.dumps(acks.body(msg_id, result, key, digest))


def subscription(cfg, kinds: tuple[str, ...] = ALERT_KINDS + RECORD_KINDS) -> str:
    """The subscriptions of `kinds`, joined by ", " (for a log line and the tests)."""
    return ", ".join(topics(cfg, kinds))


class _Connection:
    """One MQTT client of the collector and what it says about its link, once per change."""

    def __init__(self, collector: "Collector", name: str, client_id: str, kinds: tuple[str, ...], lane: Lane):
        from common.config import mqtt_client

        self.collector, self.name, self.kinds, self.lane = collector, name, kinds, lane
        self.cfg = collector.cfg
        self.client = mqtt_client(self.cfg, client_id)
        self.client.on_connect = self._on_connect
        self.client.on_message = collector._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.reconnect_delay_set(1, 30)
        self.subscribed = False
        self._link = "connecting"  # -> "connected" | "refused" on CONNACK; back on disconnect
        # Both connections go to one broker: what is wrong with the link is said once for both.
        self._said = collector.link_said

    def _first_to_say(self, what: str) -> bool:
        """Whether this connection is the first to say `what` (the two connections' threads fail at
        once: checked and set under one lock, or both say it)."""
        with self._said["lock"]:
            first, self._said[what] = not self._said[what], True
        return first

    def _on_connect_fail(self, client, userdata):
        if self._first_to_say("unreachable"):  # paho retries every few seconds: say it once until it works
            log.error("broker %s:%d is unreachable (or does not speak MQTT); retrying: check collector.host and "
                      "collector.port, and that the broker runs", self.cfg.host, self.cfg.port)

    def _on_disconnect(self, client, userdata, flags, rc, props):
        if self._link == "connected":
            log.warning("the %s connection lost the broker %s:%d (%s); reconnecting", self.name, self.cfg.host,
                        self.cfg.port, rc)
        elif self._link == "connecting" and self._first_to_say("silent"):  # dropped before any CONNACK: said once
            from common.config import silent_broker

            log.error("%s; retrying", silent_broker(self.cfg))
        self._link = "connecting"

    def _on_connect(self, client, userdata, flags, rc, props):
        self._said["unreachable"] = False
        self._link = "refused" if rc.is_failure else "connected"
        self._said["silent"] = self._said["silent"] and rc.is_failure  # a good connection: say it again next time
        if rc.is_failure:
            log.error("broker %s:%d refused the collector: %s; check collector.username and the password",
                      self.cfg.host, self.cfg.port, rc)
            return
        client.subscribe([(t, 1) for t in topics(self.cfg, self.kinds)])

    def _on_subscribe(self, client, userdata, mid, reason_codes, props):
        first = not self.subscribed
        self.subscribed = True
        if first:
            self.collector._said_subscribed()
        else:
            log.info("the %s connection is back on %s:%d", self.name, self.cfg.host, self.cfg.port)


class Collector:
    def __init__(self, cfg, store: Store, notifier=None):
        self.cfg, self.store, self.notifier = cfg, store, notifier
        if notifier is not None:  # the device (and its TV) hears when a carer was told of its alert
            notifier.on_sent = lambda site, device, msg_id: self._ack(site, device, msg_id, "notified")
        self.stored = self.duplicates = self.rejected = self.deferred = self.conflicts = 0
        self._failed = 0  # handled synchronously (handle_safely)
        self.limits = TopicLimits()
        self.link_said = {"unreachable": False, "silent": False, "lock": threading.Lock()}  # shared by both connections
        # Alerts first: their own queue, worker and connection (so their own queue at the broker).
        self.alert_lane = Lane("alerts", self.handle_parsed, ALERT_QUEUE_MAX)
        self.record_lane = Lane("records", self.handle_parsed, RECORD_QUEUE_MAX)
        self.alerts = _Connection(self, "alert", f"{cfg.client_id}-alerts", ALERT_KINDS, self.alert_lane)
        self.records = _Connection(self, "record", cfg.client_id, RECORD_KINDS, self.record_lane)
        self.client = self.records.client  # what publishes acknowledgements of records

    @property
    def failed(self) -> int:
        return self._failed + self.alert_lane.failed + self.record_lane.failed

    def _said_subscribed(self) -> None:
        if self.alerts.subscribed and self.records.subscribed:
            log.info("subscribed to %s (alerts, on their own connection) and %s on %s:%d",
                     subscription(self.cfg, ALERT_KINDS), subscription(self.cfg, RECORD_KINDS),
                     self.cfg.host, self.cfg.port)

    def _on_message(self, client, userdata, msg):
        # Runs on a connection's network thread: only the limits and a queue, nothing that parses,
        # waits or raises (an exception escaping here would end that connection's reading for good).
        try:
            if not self._admitted(msg.topic, msg.payload):
                return
            kind = msg.topic.rsplit("/", 1)[1]
            lane = self.alert_lane if kind in ALERT_KINDS else self.record_lane
            if not lane.put((msg.topic, msg.payload)) and lane.turned_away in (1, 10, 100, 1000):
                log.warning("the %s queue is full (%d waiting): a message on %s not taken for now (its device sends "
                            "it again; turned away so far: %d)", lane.name, lane.queue.maxsize,
                            printable(msg.topic, 120), lane.turned_away)
        except Exception as exc:  # noqa: BLE001 - counted; never fatal
            self._failed += 1
            log.error("could not take a message on %s: %s: %s", printable(msg.topic, 120), type(exc).__name__,
                      printable(exc))

    def _admitted(self, topic: str, payload: bytes) -> bool:
        why = self.limits.admit(topic, len(payload), time.monotonic())
        if not why:
            return True
        if why == "topic":
            return False  # our own acknowledgements and topics of no kind we take
        self.deferred += 1
        if self.deferred in (1, 10, 100) or self.deferred % 1000 == 0:
            parts = topic.split("/")
            bound = (f"more than {DEVICE_BYTES_PER_HOUR // 1_000_000} MB an hour" if why == "device"
                     else "faster than its topic's limit")
            log.warning("%s/%s sends %s: record not parsed or stored for now (the device keeps it and sends it "
                        "again; deferred so far: %d). Check that box's log", printable(parts[2], 64),
                        printable(parts[3], 64), bound, self.deferred)
        return False

    def handle(self, topic: str, payload: bytes) -> None:
        """Limits, then validation, storage and the acknowledgement, here and now (tests, replays)."""
        if self._admitted(topic, payload):
            self.handle_parsed(topic, payload)

    def handle_parsed(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        # Every deleting acknowledgement names the payload it answers (its SHA-256), and the
        # device deletes only when that is what it sent: junk or a forger's record under the
        # device's id earns nothing that deletes the device's own (10 of 10 lost before).
        digest = hashlib.sha256(payload).hexdigest()
        try:
            site, device, kind, data = parse(topic, payload)
        except Invalid as exc:
            self.rejected += 1
            log.warning("rejected a message: %s (nothing stored; rejected so far: %d)", exc, self.rejected)
            msg_id = claimed_id(payload)
            if len(parts) == 5 and parts[4] in ACKED_KINDS and msg_id:
                self._ack(parts[2], parts[3], msg_id, "rejected", digest, kind=parts[4])
            return
        if self.store.save(site, device, kind, data, time.time()):
            self.stored += 1
            if kind == "alert":
                log.warning("ALERT from %s/%s: %s (%s)", site, device, data["kind"],
                            printable(data.get("participant", ""), 80))
                if self.notifier is not None:
                    self.notifier.wake.set()  # tell the carers now
            result = "stored"
        elif kind in ACKED_KINDS and not self.store.holds(site, device, kind, data):
            # Stored before under this id with other content: not this payload's copy, so nothing
            # that would let its sender delete it (a device resends the same bytes under an id).
            self.conflicts += 1
            log.warning("%s/%s sent %s %s whose id is stored with other content: not acknowledged (conflicts so "
                        "far: %d)", printable(site, 64), printable(device, 64), kind, printable(data["msg_id"], 80),
                        self.conflicts)
            return
        else:
            if kind in ACKED_KINDS:
                self.duplicates += 1
            result = "duplicate"
        if kind in ACKED_KINDS:
            # Only now, with the row committed, may the device delete its copy.
            self._ack(site, device, data["msg_id"], result, digest, kind=kind)

    def _ack(self, site: str, device: str, msg_id: str, result: str, digest: str = "", kind: str = "alert") -> None:
        key = acks.device_key(self.cfg.ack_secret, site, device) if self.cfg.ack_secret else ""
        # An alert's acknowledgements leave on the alert connection: a backlog of records never delays them.
        client = self.client if kind in RECORD_KINDS else self.alerts.client
        client.publish(f"silvergym/v1/{site}/{device}/{ACK}", ack_payload(msg_id, result, key, digest), qos=1)

    def start(self) -> None:
        from common.config import mqtt_connect_persistent

        self.alert_lane.start()
        self.record_lane.start()
        for conn in (self.alerts, self.records):
            if self.cfg.protocol == "5" and self.cfg.shared_group:
                # In a group, no persistent session: a killed collector's session would go on taking
                # its share of the messages and hold them; the live ones take everything instead, and
                # devices send again what was not acknowledged (docs/mqtt.md).
                conn.client.connect_async(self.cfg.host, self.cfg.port, keepalive=30, clean_start=True)
                conn.client.loop_start()
            else:
                mqtt_connect_persistent(conn.client, self.cfg)

    def stop(self) -> None:
        for conn in (self.alerts, self.records):
            conn.client.disconnect()
            conn.client.loop_stop()
        self.alert_lane.stop()
        self.record_lane.stop()


def run(args) -> int:
    from common.bus.service import setup_logging
    from common.config import load

    setup_logging("collector")
    os.umask(0o077)  # the database (names, health, falls) is for the central service's user only
    full = load(args.config, args.overrides)
    cfg = full.collector
    try:
        store = Store(cfg.db)
    except (sqlite3.Error, ImportError, OSError) as exc:
        log.error("cannot open the database %s: %s", safe_dsn(cfg.db), exc)
        return 2
    except Exception as exc:  # noqa: BLE001 - psycopg's errors, when PostgreSQL is not reachable
        log.error("cannot reach the database %s: %s; check collector.db and that PostgreSQL runs",
                  safe_dsn(cfg.db), printable(exc))
        return 2
    try:
        secret = acks.central_secret(cfg.ack_secret, cfg.db)
    except OSError as exc:
        log.error("cannot keep the acknowledgement secret beside the database (%s); set collector.ack_secret", exc)
        return 2
    if not secret:
        log.warning("acknowledgements are not signed: set collector.ack_secret ($SILVERGYM_ACK_SECRET), the same "
                    "on every collector, and give each device its key (silvergym ack-key)")
    cfg = cfg.model_copy(update={"ack_secret": secret})
    from common.central.notify import Notifier

    from common.central.sitetime import SiteZones

    notifier = Notifier(store, cfg.carers, cfg.notify_within_h, zones=SiteZones.of(full.web),
                        site_carers=cfg.site_carers)
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
        log.info("stored %d, duplicates ignored %d, rejected %d, failed %d, deferred (over a limit or a full "
                 "queue) %d; carers notified %d times, %d sends refused", collector.stored, collector.duplicates,
                 collector.rejected, collector.failed,
                 collector.deferred + collector.record_lane.turned_away + collector.alert_lane.turned_away,
                 notifier.sent, notifier.failed)
        store.close()
    return 0
