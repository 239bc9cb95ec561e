"""Issue [uplink]: nothing lost, nothing duplicated; TLS and passwords; the collector; the report."""
from __future__ import annotations

import json
import os
import signal

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from common.central.collector import Invalid, Store, parse
from common.mosquitto import LocalBroker, free_port, mosquitto_binary
from common.spool import Spool
from tests.central import Postgres, make_tls, password_file
from tests.conftest import REPO, wait_for
from tests.test_uplink import uplink_config

needs_broker = pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed (make test installs it)")


def session_record(i: int, participant: str = "kim", day: float = 0.0) -> dict:
    sid = f"session-{i:04d}-{'x' * 8}"
    return {"session_id": sid, "participant": participant, "routine": "squat",
            "started_unix": 1.7e9 + day * 86400 + i, "ended_unix": 1.7e9 + day * 86400 + i + 60,
            "summary": {"score": 60.0 + (i % 40), "frames": 600, "frames_scored": 590, "reps": 5 + i % 4,
                        "joints": {"left_knee": 0.8, "right_knee": 0.75},
                        "range_of_motion": {"left_knee": {"min": 100, "max": 175, "range": 75 + i % 10}}}}


# -- tier 1: the schema ----------------------------------------------------------------------
def test_valid_payloads_pass():
    payload = json.dumps({"msg_id": "session-0001-xxxxxxxx", **session_record(1)}).encode()
    site, device, kind, data = parse("silvergym/v1/center1/pi7/session", payload)
    assert (site, device, kind, data["summary"]["reps"]) == ("center1", "pi7", "session", 6)
    parse("silvergym/v1/c/d/status", b'{"state": "offline", "unix": null}')


@pytest.mark.parametrize("topic, payload, says", [
    ("silvergym/v1/c/d/session", b"{not json", "not UTF-8 JSON"),
    ("silvergym/v1/c/d/session", b'{"msg_id": "abcdefgh"}', "required property"),
    ("silvergym/v1/c/d/session", json.dumps({"msg_id": "abcdefgh1", **{**session_record(1), "summary": {
        **session_record(1)["summary"], "score": 140}}}).encode(), "summary/score"),
    ("silvergym/v1/c/d/alert", b'{"msg_id": "abcdefgh1", "alert_id": "a", "kind": "sneeze", "unix": 1}', "kind"),
    ("silvergym/v2/c/d/session", b"{}", "unexpected topic"),
])
def test_invalid_payloads_are_named(topic, payload, says):
    with pytest.raises(Invalid, match=says):
        parse(topic, payload)


def test_store_is_idempotent_on_msg_id(tmp_path):
    store = Store(str(tmp_path / "c.db"))
    data = {"msg_id": "session-0001-xxxxxxxx", **session_record(1)}
    assert store.save("c", "d", "session", data, 0.0) is True
    assert store.save("c", "d", "session", data, 0.0) is False
    assert store.count("sessions") == 1


@pytest.mark.skipif(not Postgres.available(), reason="PostgreSQL server binaries (initdb, pg_ctl) are not installed")
def test_postgresql_store_is_idempotent_too():
    pg = Postgres()
    dsn = pg.start()
    try:
        store = Store(dsn)
        data = {"msg_id": "session-0001-xxxxxxxx", **session_record(1)}
        assert store.save("c", "d", "session", data, 0.0) is True
        assert store.save("c", "d", "session", data, 0.0) is False
        assert store.count("sessions") == 1 and store.sessions_of("kim", "c", "d")[0]["session_id"] == data["session_id"]
        store.close()
    finally:
        pg.stop()


# -- tier 3: real broker, real uplink and collector processes -------------------------------
def config_text(tmp_path, port: int, extra_uplink: str = "", extra_collector: str = "") -> str:
    return uplink_config(tmp_path, port) + f"""{extra_uplink}
[collector]
port = {port}
db = "{tmp_path / 'central.db'}"
{extra_collector}
"""


@needs_broker
def test_200_sessions_through_an_outage_and_a_crash_arrive_exactly_once(tmp_path, processes):
    """Injected: broker down for the whole production, uplink SIGKILLed half-way.
    Survives: every session, stored once."""
    port = free_port()
    workdir = str(tmp_path / "broker")
    procs = processes(config_text(tmp_path, port))
    central = Store(str(tmp_path / "central.db"))
    broker = LocalBroker(port=port, workdir=workdir).start()
    collector = procs.start_command("collector", ["collect"])
    wait_for(lambda: "subscribed" in procs.log_text("collector"), 20, what="the collector subscribed")
    broker.stop()  # the outage begins; the broker keeps the collector's session on disk
    spool = Spool(tmp_path / "spool.db")
    uplink = procs.start("uplink")
    for i in range(200):
        spool.put(session_record(i)["session_id"], "session", session_record(i))  # what scoring does
        if i == 100:
            os.kill(uplink.pid, signal.SIGKILL)
            uplink.wait()
            uplink = procs.start("uplink")
    assert spool.depth() == 200
    broker = LocalBroker(port=port, workdir=workdir).start()  # the network is back
    try:
        wait_for(lambda: central.count("sessions") >= 200 and spool.depth() == 0, 90, interval_s=0.5,
                 what="200 sessions stored centrally and the spool empty")
        assert central.count("sessions") == 200
        ids = {r[0] for r in central.db.execute("SELECT msg_id FROM sessions")}
        assert ids == {session_record(i)["session_id"] for i in range(200)}
        assert collector.poll() is None
    finally:
        central.close()
        procs.stop_all()
        broker.stop()


@needs_broker
def test_tls_with_password_delivers_and_a_wrong_password_keeps_data_spooled(tmp_path, processes):
    tls = make_tls(tmp_path / "tls")
    pw = password_file(tmp_path / "passwd", {"pi7": "right-password", "collector": "c-password"})
    with LocalBroker(password_file=pw, tls=tls, workdir=str(tmp_path / "broker")) as broker:
        spool = Spool(tmp_path / "spool.db")
        spool.put("session-tls-00001", "session", session_record(1))
        procs = processes(config_text(
            tmp_path, broker.port, f'username = "pi7"\ntls_ca = "{tls["ca"]}"',
            f'username = "collector"\ntls_ca = "{tls["ca"]}"'))
        os.environ["SILVERGYM_MQTT_PASSWORD"] = "wrong-password"
        os.environ["SILVERGYM_COLLECTOR_PASSWORD"] = "c-password"
        try:
            procs.start_command("collector", ["collect"])
            wait_for(lambda: "subscribed" in procs.log_text("collector"), 20, what="the collector over TLS")
            procs.start("uplink")
            wait_for(lambda: "refused the connection" in procs.log_text("uplink"), 20, what="the wrong password refused")
            assert spool.depth() == 1, "refused: the session must stay spooled"
            procs.stop("uplink")
            os.environ["SILVERGYM_MQTT_PASSWORD"] = "right-password"
            procs.start("uplink")
            wait_for(lambda: spool.depth() == 0, 30, what="delivery with the right password")
            central = Store(str(tmp_path / "central.db"))
            wait_for(lambda: central.count("sessions") == 1, 10, what="the session stored centrally")
            central.close()
        finally:
            os.environ.pop("SILVERGYM_MQTT_PASSWORD", None)
            os.environ.pop("SILVERGYM_COLLECTOR_PASSWORD", None)


@needs_broker
def test_the_collector_rejects_and_logs_malformed_payloads(tmp_path, processes):
    with LocalBroker(workdir=str(tmp_path / "broker")) as broker:
        procs = processes(config_text(tmp_path, broker.port))
        procs.start_command("collector", ["collect"])
        wait_for(lambda: "subscribed" in procs.log_text("collector"), 20, what="the collector subscribed")
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        for payload in (b"\xff\xfe garbage", b'{"msg_id": "x"}', json.dumps({"msg_id": "abcdefgh1", "state": 3}).encode()):
            client.publish("silvergym/v1/center1/pi7/session", payload, qos=1).wait_for_publish(5)
        client.publish("silvergym/v1/center1/pi7/session",
                       json.dumps({"msg_id": "session-good-0001", **session_record(7)}), qos=1).wait_for_publish(5)
        client.loop_stop()
        client.disconnect()
        central = Store(str(tmp_path / "central.db"))
        try:
            wait_for(lambda: central.count("sessions") == 1, 20, what="the one valid session")
            wait_for(lambda: procs.log_text("collector").count("rejected a message") == 3, 10, what="three rejections")
        finally:
            central.close()


def test_report_writes_html_with_plots(tmp_path):
    store = Store(str(tmp_path / "central.db"))
    for i in range(12):
        store.save("c", "d", "session", {"msg_id": f"s-{i:08d}", **session_record(i, day=i)}, 0.0)
    store.save("c", "d", "alert", {"msg_id": "alert-0001", "alert_id": "a1", "participant": "kim", "kind": "fall",
                                   "detail": "sudden drop of the hips", "unix": 1.7e9 + 3 * 86400}, 0.0)
    store.close()
    out = tmp_path / "report.html"
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "common.cli", "report", "kim", "--db", str(tmp_path / "central.db"),
                           "-o", str(out), "--locale", "en"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 4
    assert "12 sessions" in page and "sudden drop of the hips" in page


@needs_broker
def test_the_acl_example_lets_a_device_write_only_under_its_own_topic(tmp_path):
    pw = password_file(tmp_path / "passwd", {"pi7": "a", "pi8": "b", "collector": "c"})
    acl = str(REPO / "deploy/mosquitto/silvergym.acl.example")
    with LocalBroker(password_file=pw, acl_file=acl, workdir=str(tmp_path / "broker")) as broker:
        got = []
        reader = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        reader.username_pw_set("collector", "c")
        reader.on_connect = lambda c, *_: c.subscribe("silvergym/v1/#", qos=1)
        reader.on_message = lambda c, u, m: got.append(m.topic)
        reader.connect("127.0.0.1", broker.port)
        reader.loop_start()
        try:
            wait_for(lambda: reader.is_connected(), 10, what="the collector connected")

            def publish(user, password, topic):
                c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
                c.username_pw_set(user, password)
                c.connect("127.0.0.1", broker.port)
                c.loop_start()
                c.publish(topic, b'{"state": "online"}', qos=1).wait_for_publish(5)
                c.loop_stop()
                c.disconnect()
            publish("pi8", "b", "silvergym/v1/center1/pi7/status")  # pretending to be another device
            publish("pi7", "a", "silvergym/v1/center2/pi7/status")  # its own id under another site
            publish("pi7", "a", "silvergym/v1/center1/pi7/status")  # its own topic
            wait_for(lambda: got, 10, what="the device's own message")
            assert got == ["silvergym/v1/center1/pi7/status"]
        finally:
            reader.loop_stop()
            reader.disconnect()


def test_the_timing_figures_travel_in_the_payload_and_reach_the_report(tmp_path):
    """The session summary's added `timing` (issue [alignment]) is in the schema and the report."""
    timing = {"mean_lag_s": 1.2, "tempo": 0.71, "tempo_start": 0.8, "tempo_end": 0.64, "rejoined": 1}
    record = session_record(1)
    record["summary"]["timing"] = timing
    parse("silvergym/v1/c/d/session", json.dumps({"msg_id": "session-0001-xxxxxxxx", **record}).encode())
    record["summary"]["timing"] = {**timing, "tempo": -1}
    with pytest.raises(Invalid):
        parse("silvergym/v1/c/d/session", json.dumps({"msg_id": "session-0001-xxxxxxxx", **record}).encode())
    from common.central.report import render

    page = render("kim", [{**session_record(i, day=i), "summary": {**session_record(i)["summary"], "timing": timing}}
                          for i in range(3)], [], "en")
    # Said as an estimate to a tenth (common/pace.py): 0.71 reads "about 0.7x", its end 0.64 "about 0.6x".
    assert "about 0.7x" in page and "about 0.6x" in page and page.count('src="data:image/png;base64,') == 5


# -- [reliability] finding 1 and 8: no message can stop collection -------------------------------
def hostile_payloads() -> list[tuple[str, bytes]]:
    good = {"msg_id": "session-0999-xxxxxxxx", **session_record(999)}

    def session(**summary) -> bytes:
        return json.dumps({**good, "summary": {**good["summary"], **summary}}).encode()

    return [
        ("huge integer", session(reps=10**30)),
        ("PostgreSQL INTEGER overflow", session(reps=2**31)),
        ("deep nesting", b"[" * 400_000),
        ("NaN", session(score=float("nan"))),
        ("Infinity", json.dumps({**good, "started_unix": float("inf")}).encode()),
        ("huge timestamp", json.dumps({**good, "started_unix": 1e300}).encode()),
        ("NUL in text", json.dumps({**good, "participant": "kim\x00"}).encode()),
        ("newline in a name (log forging)", json.dumps({**good, "participant": "kim\nERROR forged"}).encode()),
        ("10 MB wrong-typed field", json.dumps({**good, "routine": ["x" * 1000] * 10_000}).encode()),
    ]


@pytest.mark.parametrize("what, payload", hostile_payloads(), ids=[w for w, _ in hostile_payloads()])
def test_hostile_payloads_are_rejected_with_a_short_reason(what, payload):
    with pytest.raises(Invalid) as caught:
        parse("silvergym/v1/c/d/session", payload)
    assert len(str(caught.value)) < 400 and "\n" not in str(caught.value)


def test_ids_are_scoped_by_site_and_device(tmp_path):
    """A device cannot pre-claim another's msg_id: both sessions are stored."""
    store = Store(str(tmp_path / "c.db"))
    data = {"msg_id": "session-0001-xxxxxxxx", **session_record(1)}
    assert store.save("c", "pi7", "session", data, 0.0) and store.save("c", "pi8", "session", data, 0.0)
    assert store.save("c", "pi7", "session", data, 0.0) is False
    assert store.count("sessions") == 2
    store.close()


def test_a_handler_failure_is_counted_and_never_raised(tmp_path):
    from types import SimpleNamespace

    from common.central.collector import Collector
    from common.config import load

    store = Store(str(tmp_path / "c.db"))
    collector = Collector(load(None, {}).collector, store)
    store.close()  # storage gone: every save raises
    message = SimpleNamespace(topic="silvergym/v1/c/d/session",
                              payload=json.dumps({"msg_id": "session-0001-xxxxxxxx", **session_record(1)}).encode())
    collector.record_lane.start()  # the worker that parses and stores, apart from the network thread
    try:
        collector._on_message(None, None, message)  # the network thread's part never raises
        wait_for(lambda: collector.failed == 1, 10, what="the failure counted by the record worker")
    finally:
        collector.record_lane.stop()


@needs_broker
def test_hostile_messages_do_not_stop_collection(tmp_path, processes):
    """Injected: every hostile payload above, then 16 good sessions, through a real broker into a
    real `silvergym collect`, and the collector restarted. Survives: all 16 stored, the process
    alive, and nothing redelivered forever after the restart."""
    port = free_port()
    procs = processes(config_text(tmp_path, port))
    broker = LocalBroker(port=port, workdir=str(tmp_path / "broker")).start()
    central = Store(str(tmp_path / "central.db"))
    sender = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="hostile-device")
    try:
        collector = procs.start_command("collector", ["collect"])
        wait_for(lambda: "subscribed" in procs.log_text("collector"), 20, what="the collector subscribed")
        sender.connect("127.0.0.1", port)
        sender.loop_start()
        for _, payload in hostile_payloads():
            sender.publish("silvergym/v1/c/d/session", payload, qos=1).wait_for_publish(10)
        for i in range(16):
            record = {"msg_id": session_record(i)["session_id"], **session_record(i)}
            sender.publish("silvergym/v1/c/d/session", json.dumps(record), qos=1).wait_for_publish(10)
        wait_for(lambda: central.count("sessions") == 16, 30, interval_s=0.2, what="16 good sessions stored")
        assert collector.poll() is None
        log_lines = procs.log_text("collector").splitlines()
        assert not any(line.startswith("ERROR forged") for line in log_lines), "a name forged a log line"
        assert max(len(line) for line in log_lines) < 1000
        procs.stop("collector")
        collector = procs.start_command("collector", ["collect"])
        wait_for(lambda: procs.log_text("collector").count("subscribed") >= 2, 20, what="the collector back")
        record = {"msg_id": session_record(99)["session_id"], **session_record(99)}
        sender.publish("silvergym/v1/c/d/session", json.dumps(record), qos=1).wait_for_publish(10)
        wait_for(lambda: central.count("sessions") == 17, 30, interval_s=0.2, what="a session after the restart")
        print(f"\nhostile payloads: {len(hostile_payloads())} rejected, 17 good sessions stored, collector alive")
    finally:
        sender.loop_stop()
        sender.disconnect()
        central.close()
        procs.stop_all()
        broker.stop()


def test_report_file_names_from_participant_names_stay_in_the_folder():
    from common.central.report import safe_file_name

    assert safe_file_name("김영희") == "김영희"
    assert "/" not in safe_file_name("../../etc/passwd") and ".." not in safe_file_name("../../etc/passwd")
    assert safe_file_name("kim\nERROR") == "kim_ERROR" and safe_file_name("///") == "participant"


# -- [reliability] finding 2: end to end, nothing lost when the broker dies -----------------------
def kill9(proc) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


@needs_broker
def test_300_sessions_through_broker_uplink_and_collector_kill_9_arrive_exactly_once(tmp_path, processes):
    """Injected: 300 sessions spooled in 10 rounds; every round the broker is killed with -9 (its
    in-memory queue and sessions lost) and restarted, and the uplink killed with -9 and restarted;
    once the collector too. Survives: every session stored exactly once, the spool empty."""
    import time as clock

    port = free_port()
    workdir = str(tmp_path / "broker")
    procs = processes(config_text(tmp_path, port, extra_uplink="resend_after_s = 3.0"))
    central = Store(str(tmp_path / "central.db"))
    spool = Spool(tmp_path / "spool.db")
    broker = LocalBroker(port=port, workdir=workdir).start()
    started = clock.monotonic()
    try:
        collector = procs.start_command("collector", ["collect"])
        wait_for(lambda: "subscribed" in procs.log_text("collector"), 20, what="the collector subscribed")
        uplink = procs.start("uplink")
        for round_ in range(10):
            for i in range(round_ * 30, round_ * 30 + 30):
                spool.put(session_record(i)["session_id"], "session", session_record(i))  # what scoring does
            # Let some of the round get under way, then pull the rug mid-flight.
            wait_for(lambda: spool.depth() < 30 * (round_ + 1) - central.count("sessions") + 30, 10,
                     interval_s=0.05, what="the round under way")
            kill9(broker.proc)
            broker.proc = None
            kill9(uplink)
            if round_ == 5:
                kill9(collector)
                collector = procs.start_command("collector", ["collect"])
            broker = LocalBroker(port=port, workdir=workdir).start()
            uplink = procs.start("uplink")
        wait_for(lambda: central.count("sessions") >= 300 and spool.depth() == 0, 120, interval_s=0.5,
                 what="300 sessions stored centrally and the spool empty")
        rows = [r[0] for r in central.db.execute("SELECT msg_id FROM sessions")]
        assert len(rows) == 300 and set(rows) == {session_record(i)["session_id"] for i in range(300)}
        print(f"\n300 sessions, 10 broker kill -9, 10 uplink kill -9, 1 collector kill -9: "
              f"{len(rows)} stored once each, 0 lost, in {clock.monotonic() - started:.0f} s")
    finally:
        central.close()
        spool.close()
        procs.stop_all()
        broker.stop()


@needs_broker
def test_the_collector_acknowledges_stored_duplicate_and_rejected_records(tmp_path, processes):
    """Each session gets its ack on the device's own topic; a payload that will never validate is
    acknowledged as rejected (so its device stops resending it), a second copy as duplicate."""
    port = free_port()
    procs = processes(config_text(tmp_path, port))
    broker = LocalBroker(port=port, workdir=str(tmp_path / "broker")).start()
    acks: list = []
    device = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="pi7-test")
    device.on_message = lambda c, u, m: acks.append((m.topic, json.loads(m.payload)))
    try:
        procs.start_command("collector", ["collect"])
        wait_for(lambda: "subscribed" in procs.log_text("collector"), 20, what="the collector subscribed")
        device.connect("127.0.0.1", port)
        device.loop_start()
        device.subscribe("silvergym/v1/center1/pi7/ack", qos=1)
        good = json.dumps({"msg_id": session_record(1)["session_id"], **session_record(1)})
        bad = json.dumps({"msg_id": "session-bad-xxxxxxxx", **session_record(2), "routine": 5})
        for payload in (good, good, bad):
            device.publish("silvergym/v1/center1/pi7/session", payload, qos=1).wait_for_publish(5)
        wait_for(lambda: len(acks) >= 3, 20, what="three acknowledgements")
        assert {(a["msg_id"], a["result"]) for _, a in acks} == {
            (session_record(1)["session_id"], "stored"), (session_record(1)["session_id"], "duplicate"),
            ("session-bad-xxxxxxxx", "rejected")}
        assert {t for t, _ in acks} == {"silvergym/v1/center1/pi7/ack"}
    finally:
        device.loop_stop()
        device.disconnect()
        procs.stop_all()
        broker.stop()


def test_report_is_safe_on_any_stored_value(tmp_path):
    """[reliability] finding 8: rows stored before the collector bounded payloads (NaN, infinity,
    a timestamp of 1e300) are left out with a note; the report is written, never an empty file."""
    import sqlite3
    import subprocess
    import sys

    store = Store(str(tmp_path / "central.db"))
    for i in range(3):
        store.save("c", "d", "session", {"msg_id": f"s-{i:08d}", **session_record(i, day=i)}, 0.0)
    store.close()
    db = sqlite3.connect(tmp_path / "central.db")  # what an older collector let in
    for n, (started, score) in enumerate([(1e300, 50.0), (1.7e9, float("nan")), (float("inf"), 1.0)]):
        body = {"msg_id": f"bad-{n:06d}", **session_record(10 + n), "started_unix": started}
        body["summary"]["score"] = score
        db.execute("INSERT INTO sessions VALUES (?, 'c', 'd', 'kim', 'squat', ?, ?, 5, ?)",
                   (body["msg_id"], started, score, json.dumps(body)))
    db.commit()
    db.close()
    out = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "common.cli", "report", "kim", "--db", str(tmp_path / "central.db"),
                           "-o", str(out), "--locale", "en"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "left out 3 stored session(s)" in done.stderr
    assert "3 sessions" in out.read_text(encoding="utf-8")


def test_the_timeline_travels_in_the_payload_and_the_report_plots_it(tmp_path):
    """[instructor] The summary's added per-second `timeline` is in the schema (a stray character
    or an endless one refused) and the report draws each recent session second by second."""
    record = session_record(1)
    record["summary"]["timeline"] = "ccccnnwwcc--cccc"
    parse("silvergym/v1/c/d/session", json.dumps({"msg_id": "session-0001-xxxxxxxx", **record}).encode())
    for bad in ("ccxc", "c" * 20_000):
        record["summary"]["timeline"] = bad
        with pytest.raises(Invalid):
            parse("silvergym/v1/c/d/session", json.dumps({"msg_id": "session-0001-xxxxxxxx", **record}).encode())
    from common.central.report import render

    timelines = ["c" * 20 + "w" * 10 + "c" * 30, "cccnnn", ""]  # the last session has none (an older device)
    sessions = [{**session_record(i, day=i), "summary": {**session_record(i)["summary"], "timeline": t}}
                for i, t in enumerate(timelines)]
    page = render("kim", sessions, [], "en")
    assert 'alt="Accuracy second by second"' in page
    assert page.count('src="data:image/png;base64,') == 5
    sessions[-1]["summary"]["timeline"] = timelines[0]
    page = render("kim", sessions, [], "en")
    assert "the best part was 0:00–0:10 (100% right) and the part to practise 0:20–0:30 (0% right)" in page


# -- [program] a program session's added fields: accepted, bounded, stored and read back --------------
def program_record(i: int = 1) -> dict:
    """A made program session (shaped as the program contract's summary, not scored from video)."""
    record = session_record(i)
    parts = [{"part": k, "name": {"ko": name_ko, "en": name_en}, "routine": routine, "reps": reps, "reps_by_side": {},
              "target_reps": 8, "score": score, "scored": score is not None, "rested": score is None, "skipped": False,
              "rom": {"left_knee": {"min": 100.0, "max": 160.0, "range": 60.0}}, "joints": {"left_knee": 0.7}}
             for k, (name_ko, name_en, routine, reps, score) in enumerate(
                 (("팔 들어올리기", "Arm raises", "arm_raise", 8, 81.0), ("제자리 걷기", "Marching", "marching", 0, None),
                  ("의자 스쿼트", "Chair squats", "squat", 5, 55.0)))]
    record["routine"] = "program:morning"
    record["summary"].update(score=68.0, program="morning", program_title={"ko": "아침 실버체조", "en": "Morning"},
                             parts=parts, weakest_part=2, scored_parts=2, score_means="program")
    return {"msg_id": record["session_id"], **record}


@pytest.mark.parametrize("change, says", [
    (lambda s: s["parts"][0].update(score=140.0), "summary/parts/0/score"),
    (lambda s: s["parts"][1].update(scored="yes"), "summary/parts/1/scored"),
    (lambda s: s["parts"][0].update(name={"ko": "x", "fr": "y"}), "summary/parts/0/name"),
    (lambda s: s["parts"][2].pop("skipped"), "summary/parts/2"),
    (lambda s: s.update(weakest_part=-1), "summary/weakest_part"),
    (lambda s: s.update(parts={"0": {}}), "summary/parts"),
    (lambda s: s.update(program="p" * 65), "summary/program"),
])
def test_a_program_sessions_added_fields_are_checked(change, says):
    good = program_record()
    parse("silvergym/v1/c/d/session", json.dumps(good).encode())
    change(good["summary"])
    with pytest.raises(Invalid, match=says):
        parse("silvergym/v1/c/d/session", json.dumps(good).encode())


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_program_session_is_stored_and_read_back_with_each_movement(tmp_path, engine):
    """Through parse (the collector's check) into the real store and back out as the report and the
    web page read it: every part, its names in both languages, the weakest part."""
    if engine == "postgresql" and not Postgres.available():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    pg = Postgres() if engine == "postgresql" else None
    dsn = pg.start() if pg else str(tmp_path / "c.db")
    try:
        store = Store(dsn)
        record = program_record()
        _, _, _, data = parse("silvergym/v1/c/d/session", json.dumps(record, ensure_ascii=False).encode())
        assert store.save("c", "d", "session", data, 0.0) is True
        assert store.save("c", "d", "session", data, 0.0) is False  # once, as any session
        back = store.sessions_of("kim", "c", "d")[0]["summary"]
        assert back["parts"] == record["summary"]["parts"] and back["weakest_part"] == 2
        assert [p["name"]["ko"] for p in back["parts"]] == ["팔 들어올리기", "제자리 걷기", "의자 스쿼트"]
        assert store.holds("c", "d", "session", data)
        store.close()
    finally:
        if pg:
            pg.stop()


def test_the_summary_the_program_session_writes_passes_the_collector_and_reaches_the_report(tmp_path):
    """[program] Producer against consumer: common/coach/program_session.py's own summary (a drawn
    person, common.coach.synthetic, posed as each part's routine: no model, no camera) as the uplink
    sends it, through the collector's schema into the store and the report's movement table. A
    change of the summary's shape the collector would refuse fails here, not in a carer's report."""
    import numpy as np

    from common.central.report import render
    from common.coach import program as programs
    from common.coach.program_session import ProgramSession
    from common.coach.session import COMPLETED
    from common.coach.synthetic import pose3d

    program = programs.load("short_program")
    person = ProgramSession(program)
    for k in range(int(program.duration_s * 10)):
        t = k / 10
        part, part_t, _ = person.locate(t)
        xyz = pose3d(program.parts[part].routine.target(part_t), center_x=320, floor_y=450)
        person.update(t, np.concatenate([xyz[:, :2], np.full((len(xyz), 1), 0.9)], axis=1), None, (640, 480))
    summary = person.summary(COMPLETED)
    record = {"msg_id": "program-real-xxxxxxxx", "session_id": "program-real-xxxxxxxx", "participant": "kim",
              "routine": summary["routine"], "started_unix": 1.7e9, "ended_unix": 1.7e9 + program.duration_s,
              "summary": summary}
    _, _, _, data = parse("silvergym/v1/c/d/session", json.dumps(record, ensure_ascii=False).encode())
    store = Store(str(tmp_path / "c.db"))
    assert store.save("c", "d", "session", data, 0.0)
    stored = store.sessions_of("kim", "c", "d")
    store.close()
    page = render("kim", stored, [], "ko")
    print("\n" + ", ".join(f"{p['name']['ko']}: {p['reps']} reps, score {p['score']}, rested {p['rested']}"
                           for p in summary["parts"]))
    assert 'class="program"' in page and all(p.name["ko"] in page for p in program.parts)
