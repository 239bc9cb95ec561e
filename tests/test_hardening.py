"""[hardening] #31: what an independent red team broke, each as a test with its figure printed.
Real parts: real processes and signals, real Mosquitto brokers, a real collector and notifier,
a second local user where a local attacker is meant. Needs nothing from ../shared."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.conftest import REPO, wait_for

# A service whose loop waits with a zero or a short timeout on its stop flag: where SIGTERM used
# to land inside Event.wait() and the handler waited for a lock its own thread held.
_SHORT_WAIT_SERVICE = """
import sys
from common.bus import service
from common.config import Config
cfg = Config.model_validate({{"bus": {{"runtime_dir": sys.argv[1]}}}})
def body(ctx):
    print("looping", flush=True)
    while not ctx.stop.wait({timeout}):
        pass
    return 0
sys.exit(service.run("probe", body, cfg))
"""


def test_sigterm_stops_a_service_whose_loop_waits_with_a_short_timeout(tmp_path):
    stopped, slowest = 0, 0.0
    runs = 20
    for k in range(runs):
        code = _SHORT_WAIT_SERVICE.format(timeout=(0, 0.0001, 0.001)[k % 3])
        proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / f"run{k}")], cwd=REPO,
                                stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        try:
            assert proc.stdout.readline().strip() == "looping"
            time.sleep(0.01 * (k % 5))  # land the signal at different moments of the loop
            sent = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
                stopped += proc.returncode == 0
                slowest = max(slowest, time.monotonic() - sent)
            except subprocess.TimeoutExpired:
                pass
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    print(f"\nSIGTERM during a short-timeout wait: {stopped}/{runs} stopped cleanly, slowest {slowest:.3f} s")
    assert stopped == runs


# --- 2, 6, 7: the carers' notifier -------------------------------------------------------------

def _alert(i: int, **changes) -> dict:
    return {"msg_id": f"alert-msg-{i:04d}", "alert_id": f"fall-{i}", "session_id": "s1", "participant": "kim",
            "kind": "fall", "detail": "", "unix": round(time.time()) + i, **changes}


def test_an_alert_with_an_impossible_date_does_not_stop_notifications(tmp_path):
    """Finding 2: an alert whose `unix` is past year 9999 passed the schema and killed the
    notifier thread for every site. Now it is sent with its date as "?", and so is the next."""
    from common.central.collector import Store, parse
    from common.central.notify import Notifier

    store = Store(str(tmp_path / "central.db"))
    sent: list[str] = []
    notifier = Notifier(store, ["json://127.0.0.1:9/hook"], send=lambda url, title, body: sent.append(body) or True)
    odd = _alert(1, unix=2.7e11)
    parse("silvergym/v1/c1/d1/alert", __import__("json").dumps(odd).encode())  # the schema lets it through
    now = time.time()
    store.save("c1", "d1", "alert", odd, now)
    notifier.start()
    try:
        wait_for(lambda: len(sent) == 1, 10, what="the odd alert sent")
        store.save("c2", "d9", "alert", _alert(2), now)
        notifier.wake.set()
        wait_for(lambda: len(sent) == 2, 20, what="the next alert, from another site, sent")
        print(f"\nalerts sent after one with unix=2.7e11: {len(sent)}; its date reads {sent[0].split('에')[0]!r}")
        assert sent[0].startswith("?에") and "c2/d9" in sent[1]
        assert notifier._thread.is_alive()
    finally:
        notifier.stop()
        store.close()


def test_a_failing_store_read_is_logged_and_the_notifier_goes_on(tmp_path):
    from common.central.collector import Store
    from common.central.notify import Notifier

    store = Store(str(tmp_path / "central.db"))
    sent: list[str] = []
    notifier = Notifier(store, ["json://127.0.0.1:9/hook"], send=lambda url, title, body: sent.append(body) or True)
    real = store.unsent_alerts
    calls = {"n": 0}

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database is locked")
        return real(*args)

    store.unsent_alerts = flaky
    store.save("c1", "d1", "alert", _alert(1), time.time())
    notifier.start()
    try:
        wait_for(lambda: len(sent) == 1, 20, what="the alert sent after the store failed once")
        print(f"\nnotifier errors counted: {notifier.errors}; alerts sent after it: {len(sent)}")
        assert notifier.errors == 1
    finally:
        notifier.stop()
        store.close()


def test_many_alerts_at_once_reach_a_carer_as_few_messages_and_each_is_recorded(tmp_path):
    """Finding 7: 200 alerts sent 200 webhook posts to one carer in a second. Now the first goes
    at once and the rest come as one message listing them, with every alert recorded as sent."""
    from common.central.collector import Store
    from common.central.notify import GROUP_WINDOW_S, Notifier

    store = Store(str(tmp_path / "central.db"))
    posts: list[tuple[float, str, str]] = []
    t = [1.7e9]
    notifier = Notifier(store, ["json://127.0.0.1:9/hook"], send=lambda url, title, body: posts.append((t[0], title, body)) or True)
    store.save("c1", "d1", "alert", _alert(0, unix=t[0]), t[0])
    notifier.send_due(t[0])
    for i in range(1, 200):
        store.save("c1", "d1", "alert", _alert(i, unix=t[0]), t[0])
    for step in range(120):  # 60 s in half-second steps
        t[0] += 0.5
        notifier.send_due(t[0])
    recorded = store.count("notifications")
    print(f"\n200 alerts in one second -> {len(posts)} messages to the carer in 60 s; {recorded} recorded as sent")
    # The first alone and at once; the other 199 from the same device 30 named to a message, the
    # place's messages limited to 3 at once and one every GROUP_WINDOW_S after.
    assert len(posts) == 1 + 7 and recorded == 200
    assert posts[3][0] - posts[2][0] >= GROUP_WINDOW_S * 0.9
    named = "".join(body for _, _, body in posts)
    assert all(f"(alert fall-{i})" in named for i in range(200)) and "more" not in named
    store.close()


def test_markup_in_a_participant_name_reaches_the_carers_email_as_text(tmp_path):
    """Finding 6: Apprise was called without a body format, so a name carrying a link or an
    image arrived live in the e-mail's text/html part. A real SMTP server receives it here."""
    import email
    from email import policy

    from common.central.collector import Store
    from common.central.notify import Notifier
    from tests.test_notify import Mailbox

    mailbox = Mailbox()
    store = Store(str(tmp_path / "central.db"))
    hostile = '<a href="http://evil.example/x">kim</a><img src="http://evil.example/p.png">'
    try:
        notifier = Notifier(store, [mailbox.url])
        store.save("c1", "d1", "alert", _alert(1, participant=hostile), time.time())
        notifier.send_due(time.time())
        wait_for(lambda: mailbox.messages, 20, what="the e-mail")
        mail = email.message_from_bytes(mailbox.messages[0], policy=policy.default)
        parts = {part.get_content_type(): part.get_content() for part in mail.walk() if not part.is_multipart()}
        html = parts.get("text/html", "")
        live = [tag for tag in ("<a ", "<img ") if tag in html]
        print(f"\ne-mail parts {sorted(parts)}; live tags from the name in its HTML: {live}")
        # Sent as plain text, the mail has no HTML part for the name to be live in (before: text/html
        # with the tags as they came).
        assert not live and (not html or "&lt;img" in html) and hostile in parts["text/plain"]
    finally:
        store.close()
        mailbox.close()


# --- 1: the shipped deployment delivers through its bridge --------------------------------------

def _bridged_pair(tmp_path, procs_factory, central_port: int, device_port: int):
    """The deployment as deploy/ ships it: the Pi's Mosquitto with the bridge `silvergym bridge`
    writes (TLS, its own login) -> the central Mosquitto (TLS, passwords, the shipped ACL) ->
    the collector; the uplink on the Pi's broker."""
    from common.mosquitto import LocalBroker, bridge_conf
    from tests.central import make_tls, password_file
    from tests.test_central import config_text

    tls = make_tls(tmp_path / "tls")
    passwords = password_file(tmp_path / "passwd", {"pi7": "pi7-secret", "collector": "c-secret"})
    acl = str(REPO / "deploy/mosquitto/silvergym.acl.example")
    template = (REPO / "deploy/mosquitto/bridge.conf.example").read_text()
    bridge = bridge_conf(template, f"127.0.0.1:{central_port}", "center1", "pi7", cafile=tls["ca"])
    bridge = bridge.replace("DEVICE_PASSWORD", "pi7-secret")

    def central():
        return LocalBroker(port=central_port, password_file=passwords, tls=tls, acl_file=acl,
                           workdir=str(tmp_path / "central-broker")).start()

    def device():
        return LocalBroker(port=device_port, workdir=str(tmp_path / "device-broker"), extra=bridge).start()

    text = config_text(tmp_path, device_port, extra_uplink="resend_after_s = 3.0",
                       extra_collector=f'username = "collector"\ntls_ca = "{tls["ca"]}"')
    text = text.replace(f"[collector]\nport = {device_port}", f"[collector]\nport = {central_port}")
    return central, device, procs_factory(text)


def test_the_bridged_deployment_delivers_300_sessions_once_and_empties_the_spool(tmp_path, processes, monkeypatch):
    """Finding 1: the shipped bridge carried the device's topics out only, so the collector's
    acknowledgements never reached the Pi and its spool never emptied (30 of 30 still spooled
    after 45 s, each resend a duplicate). Here both brokers, the uplink and the collector are
    killed with -9 while 300 sessions go through the bridge."""
    from common.central.collector import Store
    from common.mosquitto import free_port, mosquitto_binary
    from common.spool import Spool
    from tests.test_central import kill9, session_record

    if mosquitto_binary() is None:
        import pytest
        pytest.skip("mosquitto is not installed (make test installs it)")
    monkeypatch.setenv("SILVERGYM_COLLECTOR_PASSWORD", "c-secret")
    central_port, device_port = free_port(), free_port()
    start_central, start_device, procs = _bridged_pair(tmp_path, processes, central_port, device_port)
    central_db = Store(str(tmp_path / "central.db"))
    spool = Spool(tmp_path / "spool.db")
    started = time.monotonic()
    central, device = start_central(), start_device()
    kills = {"device broker": 0, "central broker": 0, "uplink": 0, "collector": 0}
    try:
        collector = procs.start_command("collector", ["collect"])
        wait_for(lambda: "subscribed" in procs.log_text("collector"), 20, what="the collector subscribed over TLS")
        uplink = procs.start("uplink")
        # The first session goes through alone: the bridge's acknowledgement path works at all.
        spool.put(session_record(0)["session_id"], "session", session_record(0))
        wait_for(lambda: spool.depth() == 0, 30, what="the first session acknowledged back through the bridge")
        first_s = time.monotonic() - started
        for round_ in range(10):
            for i in range(max(1, round_ * 30), round_ * 30 + 30):
                spool.put(session_record(i)["session_id"], "session", session_record(i))
            wait_for(lambda: central_db.count("sessions") > round_ * 30 + 5, 30, interval_s=0.05,
                     what="the round under way")
            kill9(device.proc)
            device.proc = None
            kills["device broker"] += 1
            if round_ % 2 == 1:
                kill9(central.proc)
                central.proc = None
                kills["central broker"] += 1
                central = start_central()
            kill9(uplink)
            kills["uplink"] += 1
            if round_ == 5:
                kill9(collector)
                kills["collector"] += 1
                collector = procs.start_command("collector", ["collect"])
            device = start_device()
            uplink = procs.start("uplink")
        wait_for(lambda: central_db.count("sessions") >= 300 and spool.depth() == 0, 180, interval_s=0.5,
                 what="300 sessions stored centrally and the Pi's spool empty")
        rows = [r[0] for r in central_db.db.execute("SELECT msg_id FROM sessions")]
        print(f"\nthrough the bridge, kills {kills}: {len(rows)} stored, {len(set(rows))} distinct, "
              f"spool {spool.depth()}; first session acknowledged in {first_s:.1f} s; all in "
              f"{time.monotonic() - started:.0f} s")
        assert len(rows) == 300 and set(rows) == {session_record(i)["session_id"] for i in range(300)}
    finally:
        central_db.close()
        spool.close()
        procs.stop_all()
        device.stop()
        central.stop()


def test_each_box_bridges_under_its_own_client_id_and_bad_ids_are_named():
    """Finding 9 (last part): bridges named after the host (every Pi is "raspberrypi") took each
    other's connection. `silvergym bridge` names each after its site and device."""
    import subprocess as sp

    from common.mosquitto import bridge_conf

    template = (REPO / "deploy/mosquitto/bridge.conf.example").read_text()
    ids = {line.split()[1] for device in ("pi7", "pi8")
           for line in bridge_conf(template, "central:8883", "center1", device).splitlines()
           if line.startswith("remote_clientid")}
    assert ids == {"silvergym-bridge-center1-pi7", "silvergym-bridge-center1-pi8"}
    done = sp.run([sys.executable, "-m", "common.cli", "bridge", "--central", "central:8883", "--set", "uplink.device=pi/#"],
                  capture_output=True, text=True, cwd=REPO, timeout=60)
    print(f"\nbad device id: exit {done.returncode}, {done.stderr.strip()!r}")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "uplink.device" in done.stderr


# --- 3: the frame ring belongs to the service user alone ----------------------------------------

import pytest  # noqa: E402

NOBODY = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="a second local user needs root to stand in for it")


@pytest.fixture
def shm_like(tmp_path):
    """A world-writable sticky folder in /dev/shm standing in for /dev/shm itself (the ring's
    own folder goes inside it), so another user can reach it as they could /dev/shm."""
    folder = Path(f"/dev/shm/silvergym-test-{os.getpid()}-{time.monotonic_ns()}")
    folder.mkdir()
    os.chmod(folder, 0o1777)
    yield folder
    subprocess.run(["rm", "-rf", str(folder)], check=False)


from pathlib import Path  # noqa: E402


def _as_nobody(code: str) -> subprocess.CompletedProcess:
    # The system Python: the venv under /root is not theirs to run, and the code needs nothing of ours.
    return subprocess.run(["/usr/bin/python3", "-c", code], user=NOBODY, group=NOBODY, extra_groups=[],
                          capture_output=True, text=True, timeout=30, cwd="/")


def _frame(seq: int):
    import numpy as np

    return np.full((48, 64, 3), seq % 251, np.uint8)


@as_root
def test_another_user_cannot_plant_a_link_for_the_ring_or_reach_into_its_folder(shm_like, tmp_path):
    """Finding 3: the camera made `<ring>.<pid>.tmp` with O_CREAT|O_TRUNC under a predictable name,
    so a planted link made a root camera write 2.6 MB into a root-owned file. The ring now lives
    in the user's own 0700 folder, is made under a random name with O_EXCL|O_NOFOLLOW, and a
    folder someone else made in its place is refused."""
    from common.bus.framering import FrameRingWriter, RingError, ring_path

    victim = tmp_path / "victim"
    victim.write_bytes(b"x" * 42)
    path = ring_path("ipc:///run/silvergym/camera.sock", str(shm_like))
    folder = os.path.dirname(path)
    # The attacker gets there first and plants links at every name the camera might use.
    planted = _as_nobody(f"""
import os
os.mkdir({folder!r}, 0o777)
os.chmod({folder!r}, 0o777)
for name in ({path!r}, {path!r} + ".tmp", {path!r} + ".%d.tmp" % os.getppid()):
    os.symlink({str(victim)!r}, name)
print("planted")
""")
    assert planted.stdout.strip() == "planted", planted.stderr
    writer = FrameRingWriter(path)
    with pytest.raises(RingError, match="not this user's own private folder"):
        writer.commit(_frame(1), 1)
    print(f"\nvictim after the camera tried: {victim.stat().st_size} B (was 42); camera said: refused the folder")
    assert victim.read_bytes() == b"x" * 42
    # Removed, the folder is made again as ours, and the other user can put nothing in it.
    subprocess.run(["rm", "-rf", folder], check=True)
    writer.commit(_frame(2), 2)
    assert os.stat(folder).st_mode & 0o777 == 0o700 and os.stat(path).st_mode & 0o777 == 0o600
    probe = _as_nobody(f"import os; os.symlink('/etc/passwd', {path!r} + '.x')")
    assert probe.returncode != 0 and "PermissionError" in probe.stderr
    writer.close(unlink=True)


@as_root
def test_a_reader_takes_no_ring_that_is_not_its_own_private_well_formed_file(shm_like):
    """Finding 3: an attacker-owned ring fed a fake person (250/252 poses, 18 reps on the TV), and a
    header claiming 3,000,000 slots pegged a core with 500 MB. Each is refused with one line."""
    import struct

    from common.bus.framering import HEADER_BYTES, MAGIC, FrameRingReader, FrameRingWriter, RingError, ring_path

    path = ring_path("ipc:///run/silvergym/camera.sock", str(shm_like))
    writer = FrameRingWriter(path)
    slot = writer.commit(_frame(3), 3)
    reader = FrameRingReader(path)
    assert reader.pixels(writer.ring_id, slot, 3) is not None  # the real one reads
    refused = {}
    try:
        os.chown(path, NOBODY, NOBODY)  # the same bytes, owned by someone else
        reader.close()
        with pytest.raises(RingError, match="not a private file of this user") as why:
            reader.pixels(writer.ring_id, slot, 3)
        refused["another user's ring"] = str(why.value)
        os.chown(path, 0, 0)
        with open(path, "r+b") as f:  # a header that claims three million slots
            f.write(struct.pack("<8sQIIIIQ", MAGIC, 99, 3_000_000, 64, 48, 3, 16384).ljust(HEADER_BYTES, b"\0"))
        with pytest.raises(RingError, match="not a silvergym frame ring") as why:
            reader.pixels(99, 0, 3)
        refused["3,000,000 slots"] = str(why.value)
        os.unlink(path)
        os.symlink("/etc/passwd", path)
        with pytest.raises(RingError, match="cannot read") as why:
            reader.pixels(100, 0, 3)
        refused["a link"] = str(why.value)
    finally:
        reader.close()
        writer.close(unlink=True)
    for what, line in refused.items():
        print(f"\n{what}: {line}")


@as_root
def test_a_full_shm_is_an_error_the_camera_survives_and_no_temp_file_is_left(tmp_path):
    """Finding 3: a full /dev/shm killed the camera with SIGBUS on its first write into the ring;
    each start leaked its temp file when the rename was refused."""
    from common.bus.framering import FrameRingWriter, RingError, ring_path

    small = tmp_path / "small-shm"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=1777", "tmpfs", str(small)]).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        path = ring_path("ipc:///x/camera.sock", str(small))
        code = f"""
import numpy as np
from common.bus.framering import FrameRingWriter, RingError
w = FrameRingWriter({path!r})
try:
    w.commit(np.zeros((480, 640, 3), np.uint8), 1)
    print("wrote")
except RingError as exc:
    print("refused:", exc)
"""
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        leftovers = sorted(os.listdir(os.path.dirname(path)))
        print(f"\n640x480 ring on a 256 kB /dev/shm: exit {done.returncode} (a signal would be negative), "
              f"said {done.stdout.strip()!r}; files left: {leftovers}")
        assert done.returncode == 0 and done.stdout.startswith("refused:") and "No space" in done.stdout
        assert leftovers == []
        # The rename refused (a folder where the ring goes): the temp file goes too.
        os.mkdir(path)
        os.mkdir(os.path.join(path, "keep"))
        with pytest.raises(RingError):
            FrameRingWriter(path).commit(_frame(1), 1)
        assert sorted(os.listdir(os.path.dirname(path))) == [os.path.basename(path)]
    finally:
        subprocess.run(["umount", str(small)], check=False)


# --- 5: a carer's report is one participant at one site and device, whatever was stored ---------

def _report(db, *args, out=None):
    out = out or Path(db).with_name("report.html")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "common.cli", "report", *args, "--db", str(db), "-o", str(out),
                           "--locale", "en"], capture_output=True, text=True, cwd=REPO, timeout=300)
    return done, out, time.monotonic() - started


def test_a_report_never_mixes_in_another_sites_participant_of_the_same_name(tmp_path):
    """Finding 5: reports selected by name only; a device of another site (within the shipped ACL)
    added 3 sessions and 2 falls to kim's report."""
    from common.central.collector import Store
    from tests.test_central import session_record

    db = tmp_path / "central.db"
    store = Store(str(db))
    for i in range(4):
        store.save("center1", "pi7", "session", {"msg_id": f"own-{i:06d}", **session_record(i, day=i)}, 0.0)
    for i in range(3):
        store.save("center2", "pi9", "session", {"msg_id": f"other-{i:06d}", **session_record(20 + i, day=i)}, 0.0)
        if i < 2:
            store.save("center2", "pi9", "alert", {**_alert(i, unix=1.7e9 + i), "msg_id": f"otherfall-{i:04d}"}, 0.0)
    store.close()
    ambiguous, _, _ = _report(db, "kim")
    print(f"\n`report kim` with kim at two sites: exit {ambiguous.returncode}: {ambiguous.stderr.strip()}")
    assert ambiguous.returncode == 2 and "--site center1 --device pi7" in ambiguous.stderr
    assert "--site center2 --device pi9" in ambiguous.stderr and ambiguous.stderr.count("\n") == 1
    own, out, _ = _report(db, "kim", "--site", "center1")
    page = out.read_text(encoding="utf-8")
    print(f"`report kim --site center1`: {own.stderr.strip()}")
    assert own.returncode == 0 and "4 sessions, 0 alerts" in own.stderr
    assert "center1/pi7" in page and "center2" not in page


def test_a_joint_name_that_looks_like_tex_and_a_4000_joint_session_make_a_normal_report(tmp_path):
    """Finding 5: a joint named `$\\foo{$` made `report` exit 1 (matplotlib read it as TeX); one
    session with 4,000 joints took 32.5 s and made a 15.3 MB report. Only the joints silvergym
    measures are charted, and names are text."""
    from common.central.collector import Store
    from tests.test_central import session_record

    db = tmp_path / "central.db"
    store = Store(str(db))
    tex = session_record(1)
    tex["summary"]["joints"]["$\\foo{$"] = 0.5
    tex["summary"]["range_of_motion"]["left_$\\foo{$"] = {"min": 1, "max": 2, "range": 1}
    store.save("c", "d", "session", {"msg_id": "tex-000001", **tex}, 0.0)
    many = session_record(2)
    many["summary"]["joints"].update({f"joint_{k}": 0.5 for k in range(4000)})
    many["summary"]["range_of_motion"].update({f"left_j{k}": {"min": 0, "max": 9, "range": 9} for k in range(2000)})
    store.save("c", "d", "session", {"msg_id": "many-00001", **many}, 0.0)
    store.close()
    done, out, took = _report(db, "kim")
    size_mb = out.stat().st_size / 1e6 if out.exists() else 0
    print(f"\nreport with a TeX-like joint name and a 4,000-joint session: exit {done.returncode}, "
          f"{took:.1f} s, {size_mb:.2f} MB")
    assert done.returncode == 0, done.stderr
    assert size_mb < 1.0


# --- 8: only the collector's acknowledgements delete a device's records --------------------------

def _forge_acks(port: int, seen: set, stop_after: int):
    """Another client on a broker without an ACL: reads the device's msg_ids off its topics and
    answers each with a forged "stored" (unsigned, and with a made-up signature)."""
    import hashlib
    import json

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    forger = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="forger")

    def on_message(client, userdata, msg):
        parts = msg.topic.split("/")
        if parts[-1] != "session":
            return
        msg_id = json.loads(msg.payload)["msg_id"]
        seen.add(msg_id)
        ack_topic = "/".join(parts[:-1] + ["ack"])
        digest = hashlib.sha256(msg.payload).hexdigest()  # it sees the payload too, so it names it
        client.publish(ack_topic, json.dumps({"msg_id": msg_id, "result": "stored", "sha256": digest}), qos=1)
        client.publish(ack_topic, json.dumps({"msg_id": msg_id, "result": "stored", "sha256": digest, "sig": "0" * 64}),
                       qos=1)

    forger.on_connect = lambda c, *_: c.subscribe("silvergym/v1/#", qos=1)
    forger.on_message = on_message
    forger.connect("127.0.0.1", port)
    forger.loop_start()
    return forger


def test_forged_acknowledgements_delete_nothing_when_the_device_has_its_key(tmp_path, processes, monkeypatch):
    """Finding 8: without a broker ACL another client's forged acks deleted a device's records
    (30/30 lost), and the uplink deleted on any `result` string. With collector.ack_secret and the
    device's key (silvergym ack-key), only the collector's signed acks delete."""
    from common import acks
    from common.central.collector import Store
    from common.mosquitto import LocalBroker, mosquitto_binary
    from common.spool import Spool
    from tests.test_central import config_text, session_record

    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (make test installs it)")
    secret = "central-secret-for-the-test"
    key = subprocess.run([sys.executable, "-m", "common.cli", "ack-key", "--site", "center1", "--device", "pi7"],
                         capture_output=True, text=True, cwd=REPO, timeout=60,
                         env={**os.environ, "SILVERGYM_ACK_SECRET": secret}).stdout.strip()
    assert key == acks.device_key(secret, "center1", "pi7")
    monkeypatch.setenv("SILVERGYM_ACK_SECRET", secret)
    lost = {}
    for keyed in (False, True):
        folder = tmp_path / ("keyed" if keyed else "unkeyed")
        folder.mkdir()
        with LocalBroker(workdir=str(folder / "broker")) as broker:  # no ACL: anyone may publish anywhere
            procs = processes(config_text(folder, broker.port, extra_uplink="resend_after_s = 1.0"))
            if keyed:
                monkeypatch.setenv("SILVERGYM_ACK_KEY", key)
            spool = Spool(folder / "spool.db")
            for i in range(30):
                spool.put(session_record(i)["session_id"], "session", session_record(i))
            seen: set = set()
            forger = _forge_acks(broker.port, seen, 30)
            try:
                procs.start("uplink")  # the collector is not running yet: only the forger answers
                wait_for(lambda: len(seen) == 30, 30, what="the forger to see all 30 msg_ids")
                if keyed:
                    wait_for(lambda: "without the collector's signature" in procs.log_text("uplink"), 20,
                             what="the uplink to say it ignored forged acks")
                    assert spool.depth() == 30
                else:
                    wait_for(lambda: spool.depth() < 30, 20, what="forged acks to delete records")
                lost[keyed] = 30 - spool.depth()
                if keyed:  # the real collector's signed acks still empty the spool
                    procs.start_command("collector", ["collect"])
                    wait_for(lambda: spool.depth() == 0, 60, what="the collector's signed acks to empty the spool")
                    central = Store(str(folder / "central.db"))
                    assert central.count("sessions") == 30
                    central.close()
            finally:
                forger.loop_stop()
                forger.disconnect()
                procs.stop_all()
                spool.close()
                monkeypatch.delenv("SILVERGYM_ACK_KEY", raising=False)
    print(f"\nforged acks on a broker without an ACL: records lost without uplink.ack_key {lost[False]}/30, "
          f"with it {lost[True]}/30 (then all 30 stored and the spool empty by the collector's signed acks)")
    assert lost[True] == 0


def test_an_acknowledgement_with_an_unknown_result_or_for_something_never_sent_deletes_nothing(tmp_path):
    """Finding 8: the uplink deleted on any `result` string, and for any msg_id."""
    import json
    import logging
    import queue
    from types import SimpleNamespace

    from common.config import UplinkConfig
    from common.spool import Spool
    from services.uplink import Link, pump
    from tests.test_central import session_record

    spool = Spool(tmp_path / "spool.db")
    for i in range(3):
        spool.put(f"rec-{i:06d}", "session", session_record(i))
    link = Link.__new__(Link)  # the parts pump reads, without a broker
    link.cfg, link.log = UplinkConfig(), logging.getLogger("test")
    link.acked, link.collector_acks = queue.SimpleQueue(), queue.SimpleQueue()
    link.in_flight, link.awaiting, link.connected, link.reconnected = {}, {"rec-000001": (1e18, 1)}, False, False
    link.ignored_acks = link.forged_acks = 0
    link.sent_digests = {"rec-000001": "d" * 64}  # what the uplink sent under that id
    for payload in ({"msg_id": "rec-000000", "result": "whatever"}, {"msg_id": "rec-000000", "result": "stored"},
                    {"msg_id": ["rec-000002"], "result": "stored"},
                    {"msg_id": "rec-000001", "result": "stored", "sha256": "d" * 64}):
        Link._on_message(link, None, None, SimpleNamespace(payload=json.dumps(payload).encode()))
    pump(link, spool, now=0.0)
    left = sorted(r.msg_id for r in spool.peek(10))
    print(f"\nafter an unknown result, an unsent id, a malformed id and one real ack: spool holds {left}; "
          f"ignored {link.ignored_acks}")
    assert left == ["rec-000000", "rec-000002"] and link.ignored_acks == 3
    spool.close()


# --- 9: the smaller ones -------------------------------------------------------------------------

@as_root
def test_a_spool_folder_that_is_another_users_or_open_to_others_is_refused(tmp_path):
    from common.spool import Spool, SpoolError

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, NOBODY, NOBODY)
    open_ = tmp_path / "open"
    open_.mkdir()
    os.chmod(open_, 0o777)
    said = {}
    for name, folder in (("another user's", theirs), ("writable by all", open_)):
        with pytest.raises(SpoolError) as why:
            Spool(folder / "spool.db")
        said[name] = str(why.value)
        assert not (folder / "spool.db").exists()
    print("\n" + "\n".join(f"spool folder {k}: {v}" for k, v in said.items()))
    assert "belongs to user id 65534" in said["another user's"] and "chmod go-w" in said["writable by all"]


def test_a_file_or_an_open_folder_above_the_socket_folder_is_one_line_and_exit_2(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    said = {}
    for name, runtime in (("a file above it", blocker / "silvergym"), ("an open folder above it", shared / "silvergym")):
        done = subprocess.run([sys.executable, "-m", "common.cli", "service", "uplink", "--set", f"bus.runtime_dir={runtime}",
                               "--set", f"uplink.spool_path={tmp_path / 'spool.db'}"],
                              capture_output=True, text=True, cwd=REPO, timeout=60)
        said[name] = (done.returncode, (done.stdout + done.stderr).strip())
    print("\n" + "\n".join(f"{k}: exit {code}: {text}" for k, (code, text) in said.items()))
    for code, text in said.values():
        assert code == 2 and "Traceback" not in text and text.count("\n") == 0


def test_the_central_database_and_reports_are_private_even_under_umask_000(tmp_path):
    from common.central.collector import Store
    from tests.test_central import session_record

    db = tmp_path / "central.db"
    seed = Store(str(db))
    seed.save("c", "d", "session", {"msg_id": "s-00000001", **session_record(1)}, 0.0)
    seed.close()
    os.chmod(db, 0o644)
    os.unlink(db)  # the collector makes it afresh below, as on a new server
    config = tmp_path / "central.toml"
    config.write_text(f'[collector]\nport = 9\ndb = "{db}"\n')
    collect = subprocess.Popen([sys.executable, "-m", "common.cli", "collect", "--config", str(config)], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, umask=0)
    try:
        wait_for(lambda: db.exists(), 30, what="the collector to make its database")
        db_mode = os.stat(db).st_mode & 0o777
    finally:
        collect.terminate()
        collect.wait(10)
    store = Store(str(db))
    store.save("c", "d", "session", {"msg_id": "s-00000001", **session_record(1)}, 0.0)
    store.close()
    out = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "common.cli", "report", "kim", "--db", str(db), "-o", str(out)],
                          capture_output=True, text=True, cwd=REPO, timeout=120, umask=0)
    assert done.returncode == 0, done.stderr
    report_mode = os.stat(out).st_mode & 0o777
    print(f"\nunder umask 000: central database mode {db_mode:o}, report mode {report_mode:o}")
    assert db_mode & 0o077 == 0 and report_mode & 0o077 == 0


def test_one_device_cannot_grow_the_central_tables_without_bound(tmp_path):
    """Finding 9: one device added 67 MB to the central tables in 39 s. Past its allowance a
    device's records are neither stored nor acknowledged (it keeps them); others are unaffected."""
    import json

    from common.central.collector import DEVICE_BYTES_BURST, Collector, Store
    from common.config import CollectorConfig
    from tests.test_central import session_record

    store = Store(str(tmp_path / "central.db"))
    collector = Collector(CollectorConfig(port=9), store)
    padding = "x" * 1900
    sent_bytes = 0
    for i in range(20_000):  # ~40 MB from one device, as fast as it can
        record = session_record(i)
        record["participant"] = f"p{i}-{padding}"[:1990]
        payload = json.dumps({"msg_id": f"flood-{i:08d}", **record}).encode()
        sent_bytes += len(payload)
        collector.handle("silvergym/v1/c1/flooder/session", payload)
    stored_bytes = store._exec("SELECT SUM(LENGTH(payload)) FROM sessions").fetchone()[0]
    collector.handle("silvergym/v1/c1/pi7/session", json.dumps({"msg_id": "own-0000001", **session_record(1)}).encode())
    others = store._exec("SELECT COUNT(*) FROM sessions WHERE device = 'pi7'").fetchone()[0]
    print(f"\none device sent {sent_bytes / 1e6:.1f} MB: {stored_bytes / 1e6:.1f} MB stored, {collector.deferred} records "
          f"deferred (kept on the device); another device's sessions stored meanwhile: {others}/1")
    assert stored_bytes <= DEVICE_BYTES_BURST * 1.05 and collector.deferred > 0 and others == 1
    store.close()
