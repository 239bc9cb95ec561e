"""[fleet] The central side for many senior centers: several `silvergym collect` processes in one
MQTT 5 shared-subscription group, one PostgreSQL, through a real Mosquitto on 127.0.0.1.

The devices are simulated in this process (a real uplink per device would be 100 processes on
two cores): they publish sessions (and some alerts and health) on their own topics at QoS 1,
keep each record until the collector's acknowledgement arrives on their `ack` topic, and send it
again after RESEND_S without one — the uplink's protocol (services/uplink.py), in miniature.
Bounded: a fixed number of records, deadlines on every wait, everything stopped at the end.
"""
from __future__ import annotations

import json
import signal
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from common.central.collector import Store
from common.mosquitto import LocalBroker, free_port, mosquitto_binary
from tests.central import Postgres
from tests.conftest import wait_for

needs_servers = pytest.mark.skipif(mosquitto_binary() is None or not Postgres.available(),
                                   reason="needs mosquitto and PostgreSQL server binaries (initdb, pg_ctl)")

DEVICES = 100
RESEND_S = 5.0
MAX_PENDING = 400  # records a fleet keeps in flight at once (each device a few)


def fleet_record(run: str, i: int) -> tuple[str, str, dict]:
    """The fleet's i-th record: (msg_id, topic, payload); device i % DEVICES, ten devices a site,
    participant p<device>; one in a hundred a fall alert, the rest sessions an hour apart."""
    device = i % DEVICES
    root = f"silvergym/v1/center{device // 10}/pi{device}"
    if i % 100 == 99:
        msg_id = f"{run}-alert-{i:06d}"
        return msg_id, f"{root}/alert", {"msg_id": msg_id, "alert_id": msg_id, "participant": f"p{device}",
                                         "kind": "fall", "detail": "simulated", "unix": 1.7e9 + i}
    msg_id = f"{run}-session-{i:06d}"
    return msg_id, f"{root}/session", {
        "msg_id": msg_id, "session_id": msg_id, "participant": f"p{device}", "routine": "squat",
        "started_unix": 1.7e9 + i, "ended_unix": 1.7e9 + i + 600,
        "summary": {"score": float(i % 100), "frames": 18000, "frames_scored": 17000, "reps": i % 20,
                    "joints": {"left_knee": 0.8, "right_knee": 0.7, "left_hip": 0.9, "right_hip": 0.85},
                    "range_of_motion": {"left_knee": {"min": 90.0, "max": 172.0, "range": 82.0}},
                    "timing": {"mean_lag_s": 1.2, "tempo": 0.8, "tempo_start": 0.85, "tempo_end": 0.75,
                               "rejoined": 0}}}


class Fleet:
    """DEVICES simulated devices sharing one MQTT connection; ids are unique per run."""

    def __init__(self, port: int, run: str):
        self.run = run
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"fleet-{run}",
                                  protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(MAX_PENDING)
        self.client.max_queued_messages_set(0)
        self.lock = threading.Lock()
        self.pending: dict[str, tuple[str, str, float, float]] = {}  # msg_id -> (topic, body, first, last sent)
        self.latency_s: list[float] = []
        self.results: dict[str, int] = {}
        self.resent = 0
        self.client.on_message = self._on_ack
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe("silvergym/v1/+/+/ack", qos=1)

    def _on_ack(self, client, userdata, msg):
        ack = json.loads(msg.payload)
        with self.lock:
            entry = self.pending.pop(ack["msg_id"], None)
            self.results[ack["result"]] = self.results.get(ack["result"], 0) + 1
            if entry:
                self.latency_s.append(time.monotonic() - entry[2])

    def record(self, i: int) -> tuple[str, str, dict]:
        return fleet_record(self.run, i)

    def send(self, count: int, on_progress=None, deadline_s: float = 300.0) -> float:
        """Publish `count` records, resending unacknowledged ones, until all are acknowledged.
        Returns the seconds it took."""
        start = time.monotonic()
        i = 0
        while time.monotonic() - start < deadline_s:
            now = time.monotonic()
            with self.lock:
                pending = len(self.pending)
                due = [(m, e) for m, e in self.pending.items() if now - e[3] > RESEND_S]
                for msg_id, (topic, body, first, _) in due:
                    self.pending[msg_id] = (topic, body, first, now)
            for _, (topic, body, _, _) in due:
                self.client.publish(topic, body, qos=1)
                self.resent += 1
            while i < count and pending < MAX_PENDING:
                msg_id, topic, payload = self.record(i)
                body = json.dumps(payload)
                with self.lock:
                    self.pending[msg_id] = (topic, body, time.monotonic(), time.monotonic())
                self.client.publish(topic, body, qos=1)
                if i % DEVICES == 0:  # health, QoS 0, never acknowledged
                    self.client.publish(f"silvergym/v1/center0/pi{i % 10}/health",
                                        json.dumps({"unix": 1.7e9 + i, "fps": 15.0, "spool_depth": 0}), qos=0)
                i += 1
                pending += 1
                if on_progress:
                    on_progress(i)
            if i >= count and not self.pending:
                return time.monotonic() - start
            time.sleep(0.01)
        raise AssertionError(f"{len(self.pending)} of {count} records still unacknowledged after {deadline_s} s")

    def percentile_ms(self, q: float) -> float:
        values = sorted(self.latency_s)
        return round(1000 * values[min(len(values) - 1, int(q / 100 * len(values)))], 1) if values else float("nan")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def collector_config(tmp_path, port: int, dsn: str) -> str:
    return f"""
[bus]
runtime_dir = "{tmp_path / 'run'}"
[collector]
port = {port}
db = "{dsn}"
"""


def start_collectors(procs, n: int, first: int = 0) -> dict:
    out = {}
    for k in range(first, first + n):
        out[k] = procs.start_command(f"collector{k}", ["collect", "--set", f"collector.client_id=collector-{k}"])
    for k in out:
        wait_for(lambda k=k: "subscribed" in procs.log_text(f"collector{k}"), 20, what=f"collector {k} subscribed")
    return out


@needs_servers
def test_10000_sessions_from_100_devices_with_3_collectors_one_killed(tmp_path, processes):
    """The harness: 1 collector, then 3 (one SIGKILLed a third of the way), side by side in one
    run, into one PostgreSQL; every record stored exactly once."""
    port = free_port()
    pg = Postgres()
    dsn = pg.start()
    broker = LocalBroker(port=port, workdir=str(tmp_path / "broker")).start()
    procs = processes(collector_config(tmp_path, port, dsn))
    figures = {}
    try:
        store = Store(dsn)  # makes the tables before the collectors race to
        single = start_collectors(procs, 1)
        fleet = Fleet(port, "one")
        took = fleet.send(3000)
        figures["1 collector"] = (3000, took, fleet.percentile_ms(50), fleet.percentile_ms(95), fleet.resent)
        fleet.close()
        procs.stop("collector0")
        del single

        group = start_collectors(procs, 3, first=1)
        victim = group[2]
        fleet = Fleet(port, "three")

        def kill_a_third_of_the_way(i: int) -> None:
            if i == 3300 and victim.poll() is None:
                victim.send_signal(signal.SIGKILL)
                victim.wait(10)
        took = fleet.send(10_101, on_progress=kill_a_third_of_the_way)  # 10 000 sessions and 101 alerts
        figures["3 collectors, 1 killed"] = (10_101, took, fleet.percentile_ms(50), fleet.percentile_ms(95),
                                             fleet.resent)
        fleet.close()

        sessions = store.count("sessions")
        alerts = store.count("alerts")
        distinct = store._exec("SELECT COUNT(DISTINCT (site, device, msg_id)) FROM sessions").fetchone()[0]
        expected_sessions = 2970 + 10_000  # every hundredth record is an alert
        print()
        for name, (n, s, p50, p95, resent) in figures.items():
            print(f"{name}: {n} records in {s:.1f} s = {n / s:.0f} stored/s; publish -> committed and "
                  f"acknowledged p50 {p50} ms, p95 {p95} ms; resent {resent}")
        print(f"stored: {sessions} sessions ({distinct} distinct), {alerts} alerts; expected "
              f"{expected_sessions} and 131; collector killed: exit {victim.returncode}")
        assert sessions == distinct == expected_sessions and alerts == 30 + 101
        assert victim.returncode == -signal.SIGKILL
        store.close()
    finally:
        procs.stop_all()
        broker.stop()
        pg.stop()


def test_the_group_subscription_is_on_for_mqtt_5_and_off_for_3_1_1():
    from common.central.collector import subscription
    from common.config import load

    kinds = ("alert", "session")
    assert subscription(load(None, {}).collector, kinds) == (
        "$share/silvergym/silvergym/v1/+/+/alert, $share/silvergym/silvergym/v1/+/+/session")
    assert subscription(load(None, {"collector": {"protocol": "3.1.1"}}).collector, kinds) == (
        "silvergym/v1/+/+/alert, silvergym/v1/+/+/session")
    assert subscription(load(None, {"collector": {"shared_group": ""}}).collector, kinds) == (
        "silvergym/v1/+/+/alert, silvergym/v1/+/+/session")
