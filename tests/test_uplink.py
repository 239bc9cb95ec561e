"""Tier 3: the uplink service against a real Mosquitto on 127.0.0.1 and a free port."""
from __future__ import annotations

import json
import os
import signal
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from common.mosquitto import LocalBroker, free_port, mosquitto_binary
from common.spool import Spool
from tests.conftest import wait_for

pytestmark = pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed (make test installs it)")


class Listener:
    """A central-side subscriber: every message on silvergym/v1/#, in arrival order."""

    def __init__(self, port: int, topic: str = "silvergym/v1/#"):
        self.messages: list[tuple[str, dict, bool]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c, _u, m):
        with self.lock:
            self.messages.append((m.topic, json.loads(m.payload), m.retain))

    def of(self, suffix: str) -> list[dict]:
        with self.lock:
            return [p for t, p, _ in self.messages if t.endswith(suffix)]

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def uplink_config(tmp_path, port: int, delete_on: str = "ack") -> str:
    """delete_on = "puback" for the tests with a broker and no collector (nobody acknowledges
    end to end there); the central tests run the default, end-to-end acknowledgement."""
    return f"""
[bus]
runtime_dir = "{tmp_path / 'run'}"
[uplink]
port = {port}
site = "center1"
device = "pi7"
spool_path = "{tmp_path / 'spool.db'}"
health_every_s = 1.0
delete_on = "{delete_on}"
"""


@pytest.fixture
def broker(tmp_path):
    b = LocalBroker(workdir=str(tmp_path / "broker")).start()
    yield b
    b.stop()


def test_spooled_sessions_and_alerts_are_delivered_and_removed(tmp_path, broker, processes):
    spool = Spool(tmp_path / "spool.db")
    for i in range(5):
        spool.put(f"s{i}", "session", {"session_id": f"s{i}", "summary": {"score": 80 + i}})
    spool.put("a1", "alert", {"alert_id": "a1", "kind": "fall"})
    listener = Listener(broker.port)
    procs = processes(uplink_config(tmp_path, broker.port, delete_on="puback"))
    try:
        procs.start("uplink")
        wait_for(lambda: len(listener.of("/session")) == 5 and listener.of("/alert"), 20, what="all records delivered")
        wait_for(lambda: spool.depth() == 0, 10, what="the spool emptied after PUBACKs")
        assert listener.of("/alert")[0]["msg_id"] == "a1"
        assert sorted(m["msg_id"] for m in listener.of("/session")) == [f"s{i}" for i in range(5)]
        order = [t.rsplit("/", 1)[1] for t, _, _ in listener.messages if not t.endswith(("/status", "/health"))]
        assert order[0] == "alert", "the alert should jump the queue"
        assert all(t.startswith("silvergym/v1/center1/pi7/") for t, _, _ in listener.messages)
        wait_for(lambda: listener.of("/health"), 10, what="a health message")
        assert "spool_depth" in listener.of("/health")[-1]
    finally:
        listener.close()


def test_broker_outage_keeps_records_spooled_until_it_returns(tmp_path, processes):
    port = free_port()
    spool = Spool(tmp_path / "spool.db")
    procs = processes(uplink_config(tmp_path, port, delete_on="puback"))
    procs.start("uplink")
    spool.put("s1", "session", {"session_id": "s1"})
    wait_for(lambda: "unreachable" in procs.log_text("uplink"), 20, what="the uplink to notice the broker is down")
    assert spool.depth() == 1  # no broker: nothing is lost, nothing is removed
    broker = LocalBroker(port=port, workdir=str(tmp_path / "broker")).start()
    listener = Listener(port)
    try:
        wait_for(lambda: spool.depth() == 0, 40, what="delivery once the broker is back")
        wait_for(lambda: listener.of("/session"), 10, what="the session at the central side")
    finally:
        listener.close()
        broker.stop()


def test_retained_status_and_last_will(tmp_path, broker, processes):
    procs = processes(uplink_config(tmp_path, broker.port))
    proc = procs.start("uplink")
    probe = Listener(broker.port, "silvergym/v1/+/+/status")
    try:
        wait_for(lambda: probe.of("/status") and probe.of("/status")[-1]["state"] == "online", 20, what="online")
    finally:
        probe.close()
    late = Listener(broker.port, "silvergym/v1/+/+/status")  # joins later: gets the retained value
    try:
        wait_for(lambda: late.of("/status"), 10, what="the retained status")
        assert late.messages[0][2] is True and late.of("/status")[0]["state"] == "online"
        os.kill(proc.pid, signal.SIGKILL)  # no clean disconnect: the broker sends the Last Will
        proc.wait()
        wait_for(lambda: late.of("/status")[-1]["state"] == "offline", 20, what="the Last Will 'offline'")
    finally:
        late.close()


def test_a_clean_stop_says_offline_and_warns_of_nothing(tmp_path, broker, processes):
    """Stopping the uplink is not a broker problem: it used to log that the broker 'never answered
    as an MQTT broker' on its own disconnect (seen at the end of every demo)."""
    procs = processes(uplink_config(tmp_path, broker.port))
    procs.start("uplink")
    probe = Listener(broker.port, "silvergym/v1/+/+/status")
    try:
        wait_for(lambda: probe.of("/status") and probe.of("/status")[-1]["state"] == "online", 20, what="online")
        assert procs.stop("uplink") == 0
        wait_for(lambda: probe.of("/status")[-1]["state"] == "offline", 10, what="'offline' from the clean stop")
    finally:
        probe.close()
    log = procs.log_text("uplink")
    assert "WARNING" not in log and "ERROR" not in log, log


def test_mqtt_3_1_1_for_brokers_without_mqtt_5(tmp_path, broker, processes):
    spool = Spool(tmp_path / "spool.db")
    spool.put("s311-000001", "session", {"session_id": "s311-000001"})
    listener = Listener(broker.port)
    procs = processes(uplink_config(tmp_path, broker.port, delete_on="puback") + 'protocol = "3.1.1"\n')
    try:
        procs.start("uplink")
        wait_for(lambda: spool.depth() == 0 and listener.of("/session"), 20, what="delivery over MQTT 3.1.1")
        assert listener.of("/session")[0]["msg_id"] == "s311-000001"
    finally:
        listener.close()


def test_a_damaged_spool_at_start_is_salvaged_and_delivered_not_crash_looped(tmp_path, broker, processes):
    """[reliability] finding 6, tier 3: the uplink starts on a spool with two damaged pages."""
    from tests.test_spool import damage, filled

    filled(tmp_path / "spool.db", 300)
    damage(tmp_path / "spool.db", first_page=3, pages=2)
    listener = Listener(broker.port)
    procs = processes(uplink_config(tmp_path, broker.port, delete_on="puback"))
    try:
        uplink = procs.start("uplink")
        wait_for(lambda: len(listener.of("/session")) >= 250, 60, interval_s=0.2, what="the salvaged sessions delivered")
        assert uplink.poll() is None and "moved it aside" in procs.log_text("uplink")
        print(f"\n{len(listener.of('/session'))} of 300 sessions delivered from a damaged spool")
    finally:
        listener.close()
