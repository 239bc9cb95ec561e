"""Issue [alerts-first]: a fall reaches its carer in seconds whatever another device, a forger or
a flood does. Real parts: Mosquitto run with the shipped central config and ACL
(deploy/mosquitto/central.conf.example, silvergym.acl.example) over TLS, `silvergym collect` as a
process, devices as MQTT clients with their own logins, and the carer's webhook an HTTP server
on 127.0.0.1 (tests/test_notify.py)."""
from __future__ import annotations

import getpass
import json
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from common.central.store import Store
from common.mosquitto import LocalBroker, free_port, mosquitto_binary
from tests.central import make_tls, password_file
from tests.conftest import REPO, wait_for
from tests.test_central import config_text, session_record
from tests.test_notify import Webhook

needs_broker = pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed (make test installs it)")

PASSWORDS = {"pi7": "pw-pi7", "pi8": "pw-pi8", "pi9": "pw-pi9", "collector": "pw-collector"}
# A device of another site, written the way the example's blocks are: scoped to its site AND device.
ANOTHER_SITE = "\nuser pi9\ntopic write silvergym/v1/center2/pi9/#\ntopic read silvergym/v1/center2/pi9/ack\n"


class ShippedBroker(LocalBroker):
    """The central broker as deploy/mosquitto/central.conf.example ships it: only the paths (TLS
    files, passwords, ACL, persistence), the port and the user to run as are this test's."""

    def __init__(self, tmp_path: Path):
        self.tls = make_tls(tmp_path / "tls")
        self.passwd = password_file(tmp_path / "passwd", PASSWORDS)
        acl = tmp_path / "silvergym.acl"
        acl.write_text((REPO / "deploy/mosquitto/silvergym.acl.example").read_text() + ANOTHER_SITE)
        super().__init__(tls=self.tls, workdir=str(tmp_path / "broker"))
        self.acl_path = str(acl)

    def _config(self) -> str:
        text = (REPO / "deploy/mosquitto/central.conf.example").read_text()
        paths = {"/etc/mosquitto/certs/ca.crt": self.tls["ca"], "/etc/mosquitto/certs/server.crt": self.tls["cert"],
                 "/etc/mosquitto/certs/server.key": self.tls["key"], "/etc/mosquitto/silvergym.passwd": self.passwd,
                 "/etc/mosquitto/silvergym.acl": self.acl_path}
        for shipped, here in paths.items():
            assert shipped in text, f"central.conf.example no longer names {shipped}"
            text = text.replace(shipped, here)
        text = text.replace("listener 8883", f"listener {self.port} 127.0.0.1")
        return (f"user {getpass.getuser()}\npersistence_location {self.workdir}/\nlog_dest stderr\n"
                "log_type error\nlog_type warning\n" + text)


def device(broker: ShippedBroker, user: str, inflight: int = 20) -> mqtt.Client:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"test-{user}",
                         protocol=mqtt.MQTTv5)
    client.username_pw_set(user, PASSWORDS[user])
    client.tls_set(ca_certs=broker.tls["ca"])
    client.max_inflight_messages_set(inflight)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    wait_for(client.is_connected, 20, what=f"{user} connected")
    return client


def fall(i: int) -> dict:
    return {"msg_id": f"fall-msg-{i:04d}-xxxx", "alert_id": f"fall-{i}", "session_id": "s1", "participant": f"grandma{i}",
            "kind": "fall", "detail": "", "unix": time.time()}


def start_collector(tmp_path, broker, processes, hook):
    procs = processes(config_text(
        tmp_path, broker.port, "",
        f'username = "collector"\ntls_ca = "{broker.tls["ca"]}"\ncarers = ["{hook.url}"]\nack_secret = "s3cret"'))
    import os

    os.environ["SILVERGYM_COLLECTOR_PASSWORD"] = PASSWORDS["collector"]
    try:
        procs.start_command("collector", ["collect"])
        wait_for(lambda: "subscribed" in procs.log_text("collector"), 30, what="the collector subscribed")
    finally:
        os.environ.pop("SILVERGYM_COLLECTOR_PASSWORD", None)
    return procs


@needs_broker
def test_a_fall_is_stored_and_its_carer_told_within_5_s_while_another_device_floods(tmp_path, processes):
    """Injected: device center1/pi8 sends 3,000 small sessions in a burst, then 600 sessions of
    120 kB, on its own topic (the shipped ACL allows it). Survives: a fall from center2/pi9 sent in
    the middle of each is stored and reaches the carer's webhook within 5 s."""
    broker = ShippedBroker(tmp_path).start()
    hook = Webhook()
    hook.down = False
    flooder = faller = None
    store = None
    try:
        procs = start_collector(tmp_path, broker, processes, hook)
        store = Store(str(tmp_path / "central.db"))
        flooder = device(broker, "pi8", inflight=3000)
        faller = device(broker, "pi9")
        figures = []
        small = [json.dumps({"msg_id": f"small-{i:05d}-xxxx", **session_record(i)}) for i in range(3000)]
        big_record = session_record(1)
        big_record["participant"] = "p"
        big_record["summary"]["joints"].update({f"joint_{i:05d}": 0.5 for i in range(6000)})  # valid, ~120 kB
        big = [json.dumps({"msg_id": f"big-{i:05d}-xxxx", **big_record}) for i in range(600)]
        assert 110_000 < len(big[0]) < 140_000, len(big[0])
        for n, (what, payloads) in enumerate((("3,000 small sessions in a burst", small),
                                              ("600 sessions of 120 kB", big))):
            started = time.monotonic()
            infos = []
            for i, payload in enumerate(payloads):
                infos.append(flooder.publish("silvergym/v1/center1/pi8/session", payload, qos=1))
                if i == len(payloads) // 2:
                    alert = fall(n)
                    sent_at = time.monotonic()
                    faller.publish("silvergym/v1/center2/pi9/alert", json.dumps(alert), qos=1)
            burst_s = time.monotonic() - started
            wait_for(lambda: store._exec("SELECT COUNT(*) FROM alerts WHERE msg_id = ?", (alert["msg_id"],)).fetchone()[0],
                     90, interval_s=0.02, what=f"the fall stored during {what}")
            stored_s = time.monotonic() - sent_at
            wait_for(lambda: any(alert["alert_id"] in b.get("message", "") for b in hook.bodies), 90, interval_s=0.02,
                     what=f"the carer told of the fall during {what}")
            told_s = time.monotonic() - sent_at
            for info in infos:
                info.wait_for_publish(120)
            figures.append((what, burst_s, stored_s, told_s))
        flood_stored = store.count("sessions")
        print("\nflood from center1/pi8 | published in | center2/pi9's fall stored after | carer told after")
        for what, burst_s, stored_s, told_s in figures:
            print(f"{what} | {burst_s:.1f} s | {stored_s:.2f} s | {told_s:.2f} s (bound 5 s)")
        print(f"flood sessions stored meanwhile: {flood_stored} of 3,600 (the rest deferred: their device keeps them)")
        log_text = procs.log_text("collector")
        assert "faster than its topic's limit" in log_text or "MB an hour" in log_text
        for what, _, stored_s, told_s in figures:
            assert told_s <= 5.0, f"during {what} the carer was told after {told_s:.1f} s"
    finally:
        for client in (flooder, faller):
            if client is not None:
                client.loop_stop()
                client.disconnect()
        if store is not None:
            store.close()
        hook.close()
        broker.stop()


def test_forged_alerts_from_one_place_do_not_bury_a_real_fall_at_the_carer(tmp_path):
    """Injected: 50 forged alerts from one device (center1/pi8), then a real fall from center2/pi9.
    Survives: the real fall reaches the carer's webhook (a real HTTP server, through Apprise) at
    once in a message of its own that names it; the forged ones come as few messages that name
    every one of them, never as a count."""
    from common.central.notify import Notifier

    store = Store(str(tmp_path / "central.db"))
    hook = Webhook()
    hook.down = False
    notifier = Notifier(store, [hook.url])
    try:
        now = time.time()
        for i in range(50):
            store.save("center1", "pi8", "alert", {**fall(100 + i), "unix": now + 86400 * (i % 3)}, now)
        notifier.send_due(now)  # the forger's place: its 3 messages at once
        real = fall(1)
        store.save("center2", "pi9", "alert", real, now)
        notifier.send_due(now + 0.5)
        real_posts = [b["message"] for b in hook.bodies if f"(alert {real['alert_id']})" in b["message"]]
        print(f"\n50 forged alerts from center1/pi8, then a real fall from center2/pi9: {len(hook.bodies)} posts; "
              f"the real fall in {len(real_posts)} post(s), that post naming {real_posts[0].count('(alert ') if real_posts else 0} "
              f"alert(s)")
        assert len(real_posts) == 1 and real_posts[0].count("(alert ") == 1 and "grandma1" in hook.bodies[-1]["title"]
        for step in range(1, 40):  # the forger's rest, one message per 10 s
            notifier.send_due(now + 0.5 + step * 2.5)
        named = "".join(b["message"] for b in hook.bodies)
        assert all(f"(alert fall-{100 + i})" in named for i in range(50)) and "more" not in named
        print(f"after 100 s: {len(hook.bodies)} posts naming all 51 alerts, none counted")
    finally:
        hook.close()
        store.close()


def test_an_answer_by_family_does_not_cancel_the_staffs_first_notification(tmp_path):
    """Injected: staff's webhook down at the fall; the family carer answers the alert in the web
    app (its row in alert_acks, as common/central/web/access.acknowledge writes it); the webhook
    comes back. Survives: staff get the fall then (it was 0 posts before)."""
    from common.central.notify import Notifier

    store = Store(str(tmp_path / "central.db"))
    staff, family = Webhook(), Webhook()
    family.down = False
    notifier = Notifier(store, [staff.url, family.url])
    try:
        now = time.time()
        real = fall(7)
        store.save("center1", "pi7", "alert", real, now)
        notifier.send_due(now)
        assert staff.refused == 1 and len(family.bodies) == 1
        store._exec("INSERT INTO alert_acks VALUES (?, ?, ?, ?, ?)", ("center1", "pi7", real["msg_id"], "dana", now + 1))
        staff.down = False
        t = now
        while not staff.bodies and t < now + 600:  # the notifier's back-off, in its own time
            t += 5.0
            notifier.send_due(t)
        print(f"\nstaff webhook down at the fall, family answered, webhook back: staff got {len(staff.bodies)} post(s) "
              f"{t - now:.0f} s (notifier time) after the fall; family got {len(family.bodies)}")
        assert len(staff.bodies) == 1 and real["alert_id"] in staff.bodies[0]["message"] and len(family.bodies) == 1
    finally:
        staff.close()
        family.close()
        store.close()


def test_the_week_page_puts_a_real_fall_before_future_dated_fakes_and_flags_them(tmp_path, browser_factory):
    """Injected: 50 alerts dated in the future (a day, a year, 2099) from one device and a real
    fall an hour ago from another, in the store a real `silvergym serve` reads; staff log in
    through Chromium. Survives: the real fall is the first alert on the week page (it was place
    302 of 601), and every future-dated one says its time cannot be meant."""
    pytest.importorskip("django")
    from selenium.webdriver.common.by import By

    from tests.test_web import PASSWORD, App, browser_login

    db = str(tmp_path / "central.db")
    store = Store(db)
    now = time.time()
    for i in range(50):
        future = (now + 86400, now + 365 * 86400, 4070908800.0)[i % 3]  # tomorrow, next year, 2099
        store.save("center1", "pi8", "alert", {**fall(100 + i), "participant": f"fake{i}", "unix": future}, now)
    store.save("center1", "pi7", "alert", {**fall(1), "participant": "kim", "unix": now - 3600}, now)
    store.close()
    app = App(tmp_path / "app", db)
    assert app.cli("users", "add", "anna", "--role", "staff", "--site", "center1", password=PASSWORD).returncode == 0
    app.start()
    try:
        driver = browser_factory()
        browser_login(driver, app.url, "anna")
        shown = driver.find_elements(By.CSS_SELECTOR, "section.alerts .alert .what")
        place = next(i for i, e in enumerate(shown, 1) if "kim" in e.text)
        flagged = [e for e in shown if e.find_elements(By.CSS_SELECTOR, ".impossible-time")]
        driver.save_screenshot(str(tmp_path / "week.png"))
        print(f"\nweek page: the real fall at place {place} of {len(shown)} (was 302 of 601); "
              f"{len(flagged)} of 50 future-dated alerts flagged; first line: {shown[0].text!r}")
        assert place == 1 and len(shown) == 51
        assert len(flagged) == 50 and all("fake" in e.text for e in flagged)
    finally:
        app.stop()


from tests.test_web import browser_factory  # noqa: E402,F401 - the Chromium fixture, shared


def _attacker(port: int, tls: dict | None, user: str | None, seen: list, acks_seen: list, drain: bool):
    """Another client: reads center1/pi7's session ids when the broker lets it, first drains that
    topic's allowance at the collector (when `drain`), then answers every id it sees with junk under
    the same id (on pi7's alert topic, which has its own allowance) and with forged acks naming the
    device's payload (unsigned, and with a made-up signature)."""
    import hashlib

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="attacker", protocol=mqtt.MQTTv5)
    if user:
        client.username_pw_set(user, PASSWORDS[user])
    if tls:
        client.tls_set(ca_certs=tls["ca"])

    def on_message(c, userdata, msg):
        kind = msg.topic.rsplit("/", 1)[1]
        if kind == "ack":
            acks_seen.append(json.loads(msg.payload))
            return
        try:
            msg_id = json.loads(msg.payload)["msg_id"]
        except (ValueError, KeyError, TypeError):
            return
        if kind != "session" or not msg_id.startswith("session-"):
            return
        seen.append(msg_id)
        digest = hashlib.sha256(msg.payload).hexdigest()
        c.publish("silvergym/v1/center1/pi7/alert", json.dumps({"msg_id": msg_id, "junk": True}), qos=1)
        for forged in ({"msg_id": msg_id, "result": "stored", "sha256": digest},
                       {"msg_id": msg_id, "result": "stored", "sha256": digest, "sig": "0" * 64}):
            c.publish("silvergym/v1/center1/pi7/ack", json.dumps(forged), qos=1)

    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    wait_for(client.is_connected, 20, what="the attacker connected")
    client.subscribe("silvergym/v1/#", qos=1)
    if drain:  # 250 small junk messages: the topic's burst of 200 at the collector used up
        for i in range(250):
            client.publish("silvergym/v1/center1/pi7/session", json.dumps({"msg_id": f"drain-{i:06d}"}), qos=1)
    # Junk under ids it can guess, and acks for them, before the device sends anything.
    for i in range(10):
        client.publish("silvergym/v1/center1/pi7/session", json.dumps({"msg_id": session_record(i)["session_id"]}), qos=1)
        client.publish("silvergym/v1/center1/pi7/ack", json.dumps({"msg_id": session_record(i)["session_id"],
                                                                   "result": "rejected"}), qos=1)
    return client


@needs_broker
@pytest.mark.parametrize("broker_kind", ["shipped config and ACL", "no ACL"])
def test_no_record_is_lost_to_forged_or_oracle_acknowledgements_with_the_shipped_defaults(tmp_path, processes,
                                                                                          broker_kind):
    """Injected: an attacker (device pi8's login under the shipped ACL; anyone on a broker without
    one) forges acks for center1/pi7's records and sends junk under their ids so that the collector
    answers "rejected" for them (the oracle: 10 of 10 lost before). The collector runs with its
    defaults (it makes its signing secret beside its SQLite store) and pi7's uplink has the key
    `silvergym ack-key` prints (what install.sh --ack-key puts in its environment).
    Survives: 0 of 10 records lost; all 10 stored and the spool empty."""
    import os
    import subprocess
    import sys

    from common.spool import Spool

    shipped = broker_kind != "no ACL"
    broker = ShippedBroker(tmp_path).start() if shipped else LocalBroker(workdir=str(tmp_path / "broker")).start()
    tls = broker.tls if shipped else None
    up_extra = f'username = "pi7"\ntls_ca = "{tls["ca"]}"\nresend_after_s = 1.0' if shipped else "resend_after_s = 1.0"
    col_extra = f'username = "collector"\ntls_ca = "{tls["ca"]}"' if shipped else ""
    procs = processes(config_text(tmp_path, broker.port, up_extra, col_extra))
    key = subprocess.run([sys.executable, "-m", "common.cli", "ack-key", "--site", "center1", "--device", "pi7",
                          "--config", str(tmp_path / "silvergym.toml")], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert key.returncode == 0 and len(key.stdout.strip()) == 64, key.stderr
    env = {"SILVERGYM_ACK_KEY": key.stdout.strip(), "SILVERGYM_MQTT_PASSWORD": PASSWORDS["pi7"],
           "SILVERGYM_COLLECTOR_PASSWORD": PASSWORDS["collector"]}
    os.environ.update(env)
    seen: list = []
    acks_seen: list = []
    attacker = None
    spool = Spool(tmp_path / "spool.db")
    store = Store(str(tmp_path / "central.db"))
    try:
        procs.start_command("collector", ["collect"])
        wait_for(lambda: "subscribed" in procs.log_text("collector"), 30, what="the collector subscribed")
        attacker = _attacker(broker.port, tls, "pi8" if shipped else None, seen, acks_seen, drain=not shipped)
        ids = [session_record(i)["session_id"] for i in range(10)]
        for i, msg_id in enumerate(ids):
            spool.put(msg_id, "session", session_record(i))
        procs.start("uplink")
        wait_for(lambda: spool.depth() == 0 or procs.log_text("uplink").count("rejected") > 0, 120, interval_s=0.5,
                 what="the spool emptied")
        stored = {r[0] for r in store._exec("SELECT msg_id FROM sessions WHERE device = 'pi7'").fetchall()}
        left = {r.msg_id for r in spool.peek(100)}
        lost = [m for m in ids if m not in stored and m not in left]
        signed_rejected = sum(1 for a in acks_seen if a.get("result") == "rejected" and a.get("msg_id") in ids
                              and "sig" in a)
        print(f"\n{broker_kind}: the attacker saw {len(set(seen))} of pi7's ids and answered each with junk and forged "
              f"acks; the collector signed {signed_rejected} 'rejected' for junk under pi7's ids; records lost "
              f"{len(lost)} of 10, stored {len(stored & set(ids))} of 10, left in the spool {len(left)}")
        assert lost == [] and stored >= set(ids) and not left
        if shipped:
            assert not seen, "the shipped ACL let another device read pi7's records"
    finally:
        for k in env:
            os.environ.pop(k, None)
        if attacker is not None:
            attacker.loop_stop()
            attacker.disconnect()
        spool.close()
        store.close()
        procs.stop_all()
        broker.stop()


def test_carers_cannot_be_locked_out_or_slowed_by_others(tmp_path):
    """Injected against a real `silvergym serve` (behind_tls, so the client's address comes from
    X-Forwarded-For as the documented proxy sends it): five wrong passwords for a carer from one
    address; 300 anonymous ?lang= requests; an expired session row; 300 half-sent requests held
    open (slowloris); 60 refused logins from one address. Survives: the carer logs in from any
    other address; no session row from anonymous requests; the expired one cleared; GET /login
    answers at once; the admin's audit view shows the flood as one row beside what else happened."""
    import socket
    import sqlite3

    pytest.importorskip("django")
    requests = pytest.importorskip("requests")
    from tests.test_web import PASSWORD, App, login

    db = str(tmp_path / "central.db")
    Store(db).close()
    app = App(tmp_path / "app", db, behind_tls=True)
    for name, role in (("victim", "staff"), ("boss", "admin")):
        assert app.cli("users", "add", name, "--role", role, *(["--site", "center1"] if role == "staff" else []),
                       password=PASSWORD).returncode == 0
    app.start()  # makes the session table
    app.stop()
    with sqlite3.connect(db) as con:
        con.execute("INSERT INTO django_session VALUES ('expiredsessionkey00000000000000', 'e30:1', '2020-01-01 00:00:00')")
    app.start()
    held: list[socket.socket] = []
    try:
        def rows(sql):
            with sqlite3.connect(db) as con:
                return con.execute(sql).fetchone()[0]
        wait_for(lambda: rows("SELECT COUNT(*) FROM django_session WHERE session_key LIKE 'expired%'") == 0, 30,
                 what="the expired session cleared")
        proxied = {"X-Forwarded-Proto": "https"}
        attacker = {**proxied, "X-Forwarded-For": "198.51.100.9"}
        tries = [login(app.url, "victim", "wrong password 123", headers=attacker).last_login.status_code for _ in range(5)]
        there = login(app.url, "victim", headers=attacker).last_login.status_code
        elsewhere = login(app.url, "victim", headers={**proxied, "X-Forwarded-For": "192.0.2.44"}).last_login.status_code
        print(f"\nvictim: 5 wrong passwords from 198.51.100.9 -> {tries}; then the right one from there {there}, "
              f"from 192.0.2.44 {elsewhere} (was 429 from everywhere)")
        assert tries[-1] == 429 and there == 429 and elsewhere == 302
        before = rows("SELECT COUNT(*) FROM django_session")
        for i in range(300):
            requests.get(f"{app.url}/login?lang={'en' if i % 2 else 'ko'}", headers=proxied, timeout=30)
        made = rows("SELECT COUNT(*) FROM django_session") - before
        print(f"300 anonymous ?lang= requests: {made} session rows made (was 300)")
        assert made == 0
        for i in range(300):
            s = socket.create_connection(("127.0.0.1", app.port), timeout=5)
            s.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # and never the rest
            held.append(s)
        started = time.monotonic()
        answer = requests.get(f"{app.url}/login", headers=proxied, timeout=30)
        took = time.monotonic() - started
        print(f"GET /login with 300 half-sent requests held open: {answer.status_code} in {took:.2f} s (was 15 s)")
        assert answer.status_code == 200 and took < 5.0
        for i in range(60):
            login(app.url, f"nobody{i}", "wrong password 123", headers={**proxied, "X-Forwarded-For": "198.51.100.77"})
        boss = requests.Session()  # its session cookie is Secure (behind TLS): sent here over plain HTTP by hand
        boss.cookies.update(dict(login(app.url, "boss", headers={**proxied, "X-Forwarded-For": "192.0.2.10"}).cookies))
        page = boss.get(f"{app.url}/manage?lang=en", headers=proxied, timeout=30).text
        audit = page.split('class="audit"')[1]
        flood_rows = audit.count("198.51.100.77")
        print(f"audit view after 60 refused logins from one address: {flood_rows} row(s) for it; "
              f"{audit.count('<tr>')} rows in all; the victim's lockout {'shown' if '198.51.100.9' in audit else 'NOT shown'}")
        assert flood_rows <= 2 and "198.51.100.9" in audit and "×" in audit
    finally:
        for s in held:
            s.close()
        app.stop()


# --- the smaller items ---------------------------------------------------------------------------

def test_a_device_called_site_gets_a_bridge_for_its_own_topics_only():
    """`silvergym bridge` with device id "SITE" wrote topics of a device "center1" (its name was
    replaced again as the site's). The shipped template, filled in one pass."""
    from common.mosquitto import bridge_conf

    text = bridge_conf((REPO / "deploy/mosquitto/bridge.conf.example").read_text(), "central.example.org:8883",
                       "center1", "SITE")
    topics = [line.split()[1] for line in text.splitlines() if line.startswith("topic ")]
    print(f"\nbridge topics for site center1, device SITE: {topics}")
    assert topics and all(t.startswith("silvergym/v1/center1/SITE/") for t in topics)
    assert "remote_username SITE" in text and "silvergym-bridge-center1-SITE" in text


def test_report_class_latest_ignores_an_empty_class_id_and_a_date_no_clock_means(tmp_path):
    """A session with class id "" dated 2099 made `report --class latest` take every class at once.
    Real store, real `silvergym report` process."""
    import subprocess
    import sys

    store = Store(str(tmp_path / "central.db"))
    real = "3f2a9c1e" + "0" * 24
    for i, (class_id, started, who) in enumerate(((real, time.time() - 3600, "kim"), (real, time.time() - 3500, "lee"),
                                                  ("", 4070908800.0, "forged"), ("ffff0000" * 4, 4070908800.0, "x"))):
        record = session_record(i, participant=who)
        record.update(class_id=class_id, spot=i + 1, started_unix=started, ended_unix=started + 60)
        store.save("center1", "pi7", "session", {"msg_id": f"cls-{i:04d}-xxxxxxxx", **record}, time.time())
    found = store.class_sessions("latest")
    store.close()
    done = subprocess.run([sys.executable, "-m", "common.cli", "report", "--class", "latest", "--db",
                           str(tmp_path / "central.db"), "-o", str(tmp_path / "latest.html")],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    page = (tmp_path / "latest.html").read_text() if done.returncode == 0 else ""
    print(f"\nreport --class latest: exit {done.returncode}; sessions of the class found: "
          f"{sorted(s['participant'] for _, _, s in found)} (truth: kim, lee)")
    assert sorted(s["participant"] for _, _, s in found) == ["kim", "lee"]
    assert done.returncode == 0 and "kim" in page and "forged" not in page, done.stderr


def test_health_and_status_from_invented_devices_cannot_grow_the_devices_table(tmp_path, monkeypatch):
    """Without an ACL anyone can send status under any (site, device): the devices table grew
    with each. Through the collector's own path (limits, schema, store), 300 invented devices
    against a cap of 100 here (10,000 shipped)."""
    from common.central import store as store_module
    from common.central.collector import Collector
    from common.config import CollectorConfig

    monkeypatch.setattr(store_module, "MAX_DEVICE_ROWS", 100)
    store = Store(str(tmp_path / "central.db"))
    collector = Collector(CollectorConfig(port=9), store)
    store.save("center1", "pi7", "status", {"state": "online", "unix": time.time()}, time.time())
    for i in range(300):
        collector.handle(f"silvergym/v1/fake{i}/dev{i}/status", json.dumps({"state": "online", "unix": time.time()}).encode())
    collector.handle("silvergym/v1/center1/pi7/status", json.dumps({"state": "offline", "unix": time.time()}).encode())
    rows = store.count("devices")
    state = store._exec("SELECT state FROM devices WHERE site = 'center1' AND device = 'pi7'").fetchone()[0]
    print(f"\n300 invented devices' status: devices table holds {rows} rows (cap 100); a known device still "
          f"updated: {state}")
    assert rows == 100 and state == "offline"
    store.close()
