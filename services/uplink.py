"""Uplink service: spool → MQTT (QoS 1, persistent session) → delete when the central collector
acknowledges it (silvergym/v1/<site>/<device>/ack), resending until then; Health at QoS 0.

Topics silvergym/v1/<site>/<device>/{session,alert,health,status,ack}; JSON payloads described in
docs/mqtt.md. A broker's PUBACK only says the broker has the message, which it can still lose
(kill -9 before it saves); the collector's acknowledgement says the row is committed. Records carry
their id (session_id / alert_id) so what is sent twice is stored once. Alerts go first. No image
ever leaves. `uplink.delete_on = "puback"` keeps the older behaviour for a central side without
acknowledgements.
"""
from __future__ import annotations

import hashlib
import json
import queue
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from common import acks
from common.bus import messages
from common.bus.service import HealthReporter, ServiceContext
from common.bus.sockets import Publisher, RateLimitedLog, Subscriber
from common.config import UplinkConfig, mqtt_client, mqtt_connect_persistent, silent_broker
from common.spool import EXIT_SPOOL_UNAVAILABLE, Spool, SpoolError, open_spool

MAX_IN_FLIGHT = 20


def topic_root(cfg: UplinkConfig) -> str:
    return f"silvergym/v1/{cfg.site}/{cfg.device}"


def make_client(cfg: UplinkConfig) -> mqtt.Client:
    client = mqtt_client(cfg, f"silvergym-{cfg.site}-{cfg.device}")
    client.will_set(f"{topic_root(cfg)}/status", json.dumps({"state": "offline", "unix": None}), qos=1, retain=True)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    client.max_inflight_messages_set(MAX_IN_FLIGHT)
    return client


def cpu_temperature() -> float | None:
    try:
        return int(Path("/sys/class/thermal/thermal_zone0/temp").read_text()) / 1000.0
    except (OSError, ValueError):
        return None


class Link:
    """The MQTT connection; callbacks run on paho's thread and only touch queues and flags."""

    def __init__(self, ctx: ServiceContext):
        self.cfg = ctx.config.uplink
        self.log = ctx.log
        self.root = topic_root(self.cfg)
        self.client = make_client(self.cfg)
        self.connected = False
        self.acked: queue.SimpleQueue[int] = queue.SimpleQueue()  # PUBACKs (mids)
        self.in_flight: dict[int, str] = {}  # mid -> spool msg_id
        self.collector_acks: queue.SimpleQueue[tuple[str, str, str]] = queue.SimpleQueue()  # (msg_id, result, sha256)
        # msg_id -> SHA-256 of the payload last sent under it: a deleting acknowledgement must name
        # it, so junk someone else sent under our ids cannot earn a "rejected" that deletes ours.
        self.sent_digests: dict[str, str] = {}
        self.awaiting: dict[str, tuple[float, int]] = {}  # msg_id -> (resend at, times sent)
        self.reconnected = False  # set on paho's thread; pump resends everything unacknowledged
        self._last_refusal = ""
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_message = self._on_message
        self._said_unreachable = False
        self._said_silent = False
        self._stopping = False
        self.ignored_acks = 0  # acknowledgements not understood or not for what we sent
        self.forged_acks = 0  # of them, without the collector's signature (uplink.ack_key set)

    def start(self) -> None:
        mqtt_connect_persistent(self.client, self.cfg)

    def stop(self) -> None:
        if self.connected:
            self.client.publish(f"{self.root}/status", json.dumps({"state": "offline", "unix": time.time()}),
                                qos=1, retain=True).wait_for_publish(timeout=1.0)
        self._stopping = True  # a disconnect we asked for is not worth a warning
        # Offline too: it ends paho's wait before its next reconnect at once (the wait sleeps up to
        # 1 s at a time; `run --once` without a broker killed the uplink for not stopping in time).
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            why = str(reason_code)
            if why != self._last_refusal:
                self.log.error("broker %s:%d refused the connection: %s; check uplink.username and the password "
                               "($SILVERGYM_MQTT_PASSWORD). Sessions stay in the spool meanwhile.",
                               self.cfg.host, self.cfg.port, why)
                self._last_refusal = why
            return
        self._last_refusal = ""
        self._said_unreachable = self._said_silent = False
        self.connected = True
        self.in_flight.clear()  # anything unacknowledged is sent again from the spool
        self.reconnected = True
        if self.cfg.delete_on == "ack":
            client.subscribe(f"{self.root}/ack", qos=1)
        self.log.info("connected to broker %s:%d", self.cfg.host, self.cfg.port)
        client.publish(f"{self.root}/status", json.dumps({"state": "online", "unix": time.time()}), qos=1, retain=True)

    def _on_connect_fail(self, client, userdata):
        if not self._said_unreachable:
            self.log.warning("broker %s:%d is unreachable; sessions are kept in the spool and sent when it answers "
                             "(check the network and uplink.host/port)", self.cfg.host, self.cfg.port)
            self._said_unreachable = True

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if self._stopping:
            self.connected = False
            return
        if self.connected:
            self.log.warning("lost the broker connection (%s); spooling until it is back", reason_code)
        elif not self._last_refusal and not self._said_silent:  # dropped before any CONNACK
            self.log.warning("%s; sessions stay in the spool meanwhile", silent_broker(self.cfg))
            self._said_silent = True
        self.connected = False

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        self.acked.put(mid)

    def _on_message(self, client, userdata, msg):
        try:
            ack = json.loads(msg.payload.decode("utf-8"))
            msg_id, result, sig, digest = ack["msg_id"], ack["result"], ack.get("sig"), ack.get("sha256", "")
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
            self.ignored_acks += 1
            return  # not an acknowledgement we understand: the record is simply sent again later
        if (not isinstance(msg_id, str) or not 0 < len(msg_id) <= 200 or result not in acks.RESULTS
                or not isinstance(digest, str) or len(digest) > 64):
            self.ignored_acks += 1
            return
        if self.cfg.ack_key and not acks.genuine(self.cfg.ack_key, msg_id, result, sig, digest):
            # Someone other than the collector (or one with another secret): the record stays.
            self.ignored_acks += 1
            self.forged_acks += 1
            return
        self.collector_acks.put((msg_id, result, digest))

    def send(self, kind: str, msg_id: str, payload: dict) -> None:
        body = json.dumps({"msg_id": msg_id, **payload}, ensure_ascii=False)
        self.sent_digests[msg_id] = hashlib.sha256(body.encode("utf-8")).hexdigest()
        info = self.client.publish(f"{self.root}/{kind}", body, qos=1)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            self.in_flight[info.mid] = msg_id

    def send_health(self, payload: dict) -> None:
        if self.connected:
            self.client.publish(f"{self.root}/health", json.dumps(payload), qos=0)


RESEND_MAX_S = 600.0


def pump(link: Link, spool: Spool, now: float | None = None, on_ack=None) -> int:
    """Delete what is acknowledged (by the collector, or with delete_on = "puback" by the
    broker); send what is spooled and not awaiting an acknowledgement. Returns records sent.
    on_ack(msg_id, result) hears each of the collector's acknowledgements (the TV's Delivery)."""
    now = time.monotonic() if now is None else now
    end_to_end = link.cfg.delete_on == "ack"
    while True:
        try:
            mid = link.acked.get_nowait()
        except queue.Empty:
            break
        msg_id = link.in_flight.pop(mid, None)
        if msg_id and not end_to_end:
            spool.delete(msg_id)
    while True:
        try:
            msg_id, result, digest = link.collector_acks.get_nowait()
        except queue.Empty:
            break
        if result in acks.DELETING_RESULTS:
            if end_to_end and msg_id not in link.awaiting and msg_id not in link.in_flight.values():
                link.ignored_acks += 1  # not something this uplink has sent since it connected
                continue
            if end_to_end and digest != link.sent_digests.get(msg_id):
                link.ignored_acks += 1  # about another payload under our id (junk, a forger's), not ours
                continue
            link.sent_digests.pop(msg_id, None)
            if result == "rejected":
                link.log.error("the central collector rejected record %s and will never store it (see its log); "
                               "removed from the spool", msg_id)
            spool.delete(msg_id)
            link.awaiting.pop(msg_id, None)
        if on_ack is not None:  # "notified" comes after "stored": nothing left to delete then
            on_ack(msg_id, result)
    if not link.connected:
        return 0
    if link.reconnected:  # the broker may have lost what it had: send everything unacknowledged again
        link.reconnected = False
        link.awaiting.clear()
    pending = set(link.in_flight.values())
    sent_ids = 0
    for record in spool.peek(MAX_IN_FLIGHT * 2):
        if len(link.in_flight) >= MAX_IN_FLIGHT:
            break
        if record.msg_id in pending:
            continue
        if end_to_end:
            due, times = link.awaiting.get(record.msg_id, (0.0, 0))
            if now < due:
                continue
            link.awaiting[record.msg_id] = (now + min(RESEND_MAX_S, link.cfg.resend_after_s * 2**times), times + 1)
        link.send(record.kind, record.msg_id, record.payload)
        sent_ids += 1
    return sent_ids


def health_payload(latest: dict, spool_depth: int) -> dict:
    inference = latest.get("inference")
    camera = latest.get("camera")
    return {
        "unix": time.time(),
        "fps": inference.fps if inference else 0.0,
        "inference_ms_p50": inference.latency_p50_ms if inference else None,
        "backend": inference.backend if inference else "unknown",
        "camera": camera.state if camera else "unknown",
        "spool_depth": spool_depth,
        "temperature_c": cpu_temperature(),
        "services": {name: h.state for name, h in latest.items()},
    }


def main(ctx: ServiceContext) -> int:
    cfg = ctx.config.uplink
    try:
        spool = open_spool(cfg.spool_path, cfg.spool_max_rows, ctx.name, ctx.log, ctx.config.bus.runtime_dir)
    except SpoolError as exc:  # a full or read-only disk: restarting later can fix it, so not a config error
        ctx.log.error("%s; this service stops and is restarted until the spool can be opened", exc)
        return EXIT_SPOOL_UNAVAILABLE
    events = Subscriber(ctx.zmq, ctx.endpoints(), ["session", "alert", "health"])
    pub = Publisher(ctx.zmq, ctx.endpoint())
    health = HealthReporter(ctx.name, pub)
    link = Link(ctx)
    link.start()
    latest_health: dict = {}
    next_health = 0.0
    spool_trouble = RateLimitedLog(every_s=30.0)
    forged_said = 0

    def delivered(msg_id: str, result: str) -> None:
        if result in messages.DELIVERY_RESULTS and 0 < len(msg_id) <= 128:
            pub.publish(messages.Delivery(seq=pub.next_seq("delivery"), t_capture_ns=time.monotonic_ns(),
                                          msg_id=msg_id, result=result))
    try:
        while not ctx.stop.is_set():
            # Session/Alert events only wake us: their records are already in the spool.
            for msg in events.receive(timeout_ms=200):
                if msg.TOPIC == "health":
                    latest_health[msg.service] = msg
            now = time.monotonic()
            try:
                sent = pump(link, spool, on_ack=delivered)
                if now >= next_health:
                    link.send_health(health_payload(latest_health, spool.depth()))
                    next_health = now + cfg.health_every_s
            except SpoolError as exc:  # disk trouble: say so now and then, keep the link, try again
                spool_trouble.warn("spool", f"{exc}; retrying")
                ctx.stop.wait(1.0)
                continue
            if link.forged_acks > forged_said:
                forged_said = link.forged_acks
                spool_trouble.warn("forged", f"ignored {forged_said} acknowledgement(s) without the collector's "
                                   "signature so far (someone else publishing on this device's ack topic, or "
                                   "uplink.ack_key differs from the collector's: `silvergym ack-key` prints it)")
            if sent:
                health.stats.tick(now)
            health.maybe_publish(now, dropped=events.dropped, malformed=events.malformed,
                                 state="connected" if link.connected else "offline",
                                 detail=lambda: {"spool_depth": spool.depth(), "ignored_acks": link.ignored_acks})
        return 0
    finally:
        link.stop()
        spool.close()
