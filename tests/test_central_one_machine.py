"""[central] The central side on one machine, as an installer meets it (README, "Central server").

Real parts: `silvergym central up` (what `make central` runs after installing packages) starting a
real Mosquitto, the collector on SQLite and the web app under waitress as background processes;
`silvergym send-test` putting a session scored by the real scorer and a test fall alert into that
broker; accounts made with `silvergym users`; Chromium (Debian's, through Selenium) logging in as
the site's staff, reading the senior's name and the alert's local time with its zone, and
answering it. The Korean pages are read word by word for English.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from common.mosquitto import free_port, mosquitto_binary
from tests.conftest import REPO, wait_for
from tests.test_web import PASSWORD, browser_factory, browser_login  # noqa: F401 - the browser fixture

SHOTS = Path(os.environ.get("SILVERGYM_SHOTS", "/tmp/silvergym-central-shots"))


def cli(*args: str, password: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "common.cli", *args], input=(password + "\n") if password else None,
                          capture_output=True, text=True, cwd=REPO, timeout=timeout)


@pytest.fixture(scope="module")
def central(tmp_path_factory):
    pytest.importorskip("django")
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (make central installs it)")
    folder = tmp_path_factory.mktemp("central") / "out"
    broker_port, web_port = free_port(), free_port()
    first = cli("central", "up", "--dir", str(folder), "--broker-port", str(broker_port), "--web-port", str(web_port))
    try:
        print(f"\n$ silvergym central up\n{first.stdout}{first.stderr}")
        assert first.returncode == 0, first.stderr
        yield {"folder": folder, "broker": f"127.0.0.1:{broker_port}", "url": f"http://127.0.0.1:{web_port}",
               "config": str(folder / "silvergym.toml"), "first": first.stdout}
    finally:
        print(cli("central", "down", "--dir", str(folder)).stdout)


def test_central_up_says_where_everything_is_and_a_second_run_starts_nothing(central):
    said = central["first"]
    for wanted in (central["url"] + "/", str(central["folder"] / "central.db"), "users add admin --role admin",
                   "send-test --broker " + central["broker"], "install.sh --bridge"):
        assert wanted in said, wanted
    # make central-stop stops out/central only: a --dir of its own is told its own way to stop ([class] trial)
    stop = [line for line in said.splitlines() if line.startswith("Stop it all:")]
    assert stop and stop[0].endswith(f"central down --dir {central['folder']}") and "make central-stop" not in said, stop
    from common.cli.central import stop_words
    assert stop_words(REPO / "out" / "central", "silvergym").startswith("make central-stop"), "the Makefile's folder"
    again = cli("central", "up", "--dir", str(central["folder"]))
    print(again.stdout)
    assert again.returncode == 0 and again.stdout.count("already running") == 3
    assert cli("central", "status", "--dir", str(central["folder"])).returncode == 0
    collector_log = (central["folder"] / "collector.log").read_text()
    assert f"collect: database {central['folder'] / 'central.db'}" in collector_log  # collect says where it stores


def test_send_test_delivers_and_staff_see_the_senior_by_name_and_the_alert_at_local_time(central, browser_factory):
    """The installer's path end to end: send-test into the one-machine broker, a staff account from
    the command line, and in Chromium: 김영희 (not "kim"), the fall at Seoul's time with the zone
    named, answered with 확인했습니다 and then listed under the answered alerts."""
    from selenium.webdriver.common.by import By

    sent = cli("send-test", "--broker", central["broker"], "--site", "center1", "--device", "pi7", "--participant", "kim",
               "--name", "김영희")
    print(sent.stdout, sent.stderr)
    assert sent.returncode == 0 and sent.stdout.count(": stored") == 2
    made = cli("users", "add", "anna", "--role", "staff", "--site", "center1", "--config", central["config"],
               password=PASSWORD)
    assert made.returncode == 0, made.stderr
    from common.central.collector import Store

    store = Store(str(central["folder"] / "central.db"))
    alert_unix = store._exec("SELECT unix FROM alerts WHERE site = 'center1'").fetchone()[0]
    store.close()
    seoul = dt.datetime.fromtimestamp(alert_unix, ZoneInfo("Asia/Seoul"))
    utc = dt.datetime.fromtimestamp(alert_unix, dt.timezone.utc)
    driver = browser_factory()
    driver.set_window_size(1280, 900)
    browser_login(driver, central["url"], "anna")
    alerts = driver.find_element(By.CSS_SELECTOR, "section.alerts").text
    people = driver.find_element(By.CSS_SELECTOR, "section.people").text
    print(f"alerts: {alerts!r}\npeople: {people!r}\nthe alert was at {seoul:%Y-%m-%d %H:%M} in Seoul, {utc:%H:%M} UTC")
    assert "김영희" in alerts and "김영희" in people and "kim" not in people.replace("center1/pi7", "")
    assert f"{seoul:%Y-%m-%d %H:%M} 한국 시간" in alerts
    shoot(driver, "week_open_1280_ko")
    driver.find_element(By.CSS_SELECTOR, "section.alerts form button").click()
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "section.answered-alerts .acked"), 30,
             what="the alert under the answered ones")
    open_now = driver.find_element(By.CSS_SELECTOR, "section.alerts").text
    answered = driver.find_element(By.CSS_SELECTOR, "section.answered-alerts").text
    print(f"after answering: open {open_now!r}; answered {answered!r}")
    assert "확인이 필요한 알림이 없습니다" in open_now and "확인했습니다" in answered and "한국 시간" in answered
    driver.find_element(By.LINK_TEXT, "김영희").click()
    wait_for(lambda: any("김영희 님의 운동 리포트" in e.text for e in driver.find_elements(By.TAG_NAME, "h1")), 30,
             what="the report")
    report = driver.find_element(By.TAG_NAME, "main").text
    assert f"{seoul:%Y-%m-%d %H:%M}" in report and "한국 시간" in report  # the report's times: the same clock
    for width in (390, 1280):
        driver.set_window_size(width, 900)
        for name, path in (("week", "/"), ("participant", None), ("devices", "/devices")):
            if path:
                driver.get(central["url"] + path)
            shoot(driver, f"{name}_{width}_ko")
        driver.back()
        driver.back()


def shoot(driver, name: str) -> None:
    """A screenshot to look at (SILVERGYM_SHOTS, default /tmp/silvergym-central-shots), whole page."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.get_window_size()["width"]
    driver.set_window_size(width, min(max(height + 120, 600), 4000))
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    driver.set_window_size(width, 900)


# Latin words allowed on a Korean page: names of things that have no Korean name (the chip and the
# processor), and the link to the English pages (marked lang="en").
PROPER = {"Edge", "TPU", "CPU", "USB"}
TOKEN = re.compile(r"[A-Za-z0-9_.-]+")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
MESSAGE_ID = re.compile(r"[0-9a-f]{16,}")  # an alert's id in the audit log's detail

VISIBLE_TEXT = """
const out = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const el = n.parentElement;
  if (!n.textContent.trim() || el.closest('[lang="en"], script, style, .data')) continue;
  const s = getComputedStyle(el);
  if (s.display === 'none' || s.visibility === 'hidden') continue;
  out.push(n.textContent.trim());
}
for (const el of document.querySelectorAll('input[type=submit], img[alt], [placeholder]'))
  out.push(el.value || el.alt || el.placeholder || '');
return out;
"""


def test_every_text_on_the_korean_pages_is_korean(central, browser_factory):
    """Login, week (an open and an answered alert, a left/right flag), a participant's report,
    devices (online, offline and never heard, a lost camera, the CPU and a simulated model) and the
    admin's accounts page with its audit log: every visible word in Hangul, but for what a device or
    a person named (site, device, participant keys, user names) and the chip's name."""
    from selenium.webdriver.common.by import By

    from common.central.collector import Store

    for i in range(3):  # a second senior (send-test also says its device is online, with a simulated model)
        done = cli("send-test", "--broker", central["broker"], "--site", "center1", "--device", "pi7",
                   "--participant", "lee", "--name", "이순자")
        assert done.returncode == 0, done.stderr
    store = Store(str(central["folder"] / "central.db"))
    import time as _time

    now = _time.time()
    store.save("center1", "pi8", "status", {"state": "offline", "unix": now}, now)
    store.save("center1", "pi8", "health", {"unix": now, "fps": 15.0, "backend": "cpu", "camera": "lost",
                                            "spool_depth": 0}, now)
    store.save("center1", "pi9", "health", {"unix": now, "fps": 15.0, "backend": "sim", "camera": "ok",
                                            "spool_depth": 0}, now)
    store.close()
    cli("users", "add", "boss", "--role", "admin", "--config", central["config"], password=PASSWORD)
    cli("users", "add", "dana", "--role", "family", "--config", central["config"], password=PASSWORD)
    linked = cli("users", "link", "dana", "--site", "center1", "--device", "pi7", "--participant", "kim",
                 "--config", central["config"])
    assert linked.returncode == 0, linked.stderr
    driver = browser_factory()
    driver.set_window_size(1280, 900)
    data = {"center1", "pi7", "pi8", "pi9", "kim", "lee", "anna", "boss", "dana", "eve", "park"}
    found = {}
    driver.get(central["url"] + "/login?lang=ko")
    pages = [("login", None)]
    for name, path in pages:
        found[name] = english_in(driver.execute_script(VISIBLE_TEXT), data)
    browser_login(driver, central["url"], "boss")
    for name, path in (("week", "/"), ("participant", "/participant?site=center1&device=pi7&p=kim"),
                       ("devices", "/devices"), ("manage", "/manage")):
        driver.get(central["url"] + path)
        found[name] = english_in(driver.execute_script(VISIBLE_TEXT), data)
        if name == "devices":
            rows = driver.find_element(By.TAG_NAME, "tbody").text
            print(f"devices: {rows!r}")
            assert "끊김: 기기의 전원과 인터넷 연결을 확인해 주세요" in rows and "안 보임" in rows
        shoot(driver, f"{name}_admin_1280_ko")
    print(f"English words on the Korean pages: {found}")
    assert not any(found.values()), found


def english_in(texts: list[str], data: set[str]) -> list[str]:
    words = []
    for text in texts:
        for token in TOKEN.findall(text):  # "center1", "pi7": what a device or a person named
            if token in data or MESSAGE_ID.fullmatch(token):
                continue
            words += [w for w in LATIN_WORD.findall(token) if w not in PROPER]
    return sorted(set(words))


def test_users_link_refuses_a_participant_never_seen(central):
    config = central["config"]
    cli("users", "add", "eve", "--role", "family", "--config", config, password=PASSWORD)
    typo = cli("users", "link", "eve", "--site", "center1", "--device", "pi7", "--participant", "kmi", "--config", config)
    print(f"link to a typo: exit {typo.returncode}: {typo.stderr.strip()}")
    assert typo.returncode == 2 and len(typo.stderr.strip().splitlines()) == 1
    assert "kmi" in typo.stderr and "kim" in typo.stderr and "--new" in typo.stderr
    new = cli("users", "link", "eve", "--site", "center1", "--device", "pi7", "--participant", "park", "--new",
              "--config", config)
    assert new.returncode == 0, new.stderr


def test_the_central_commands_without_their_packages_say_how_to_install_them(tmp_path):
    """A Pi's venv (or make demo's) has no Django or jsonschema: one line naming the install step,
    exit 2, no traceback."""
    blocked = ("import sys; sys.modules['jsonschema'] = None; sys.modules['django'] = None\n"
               "from common.cli import main; sys.exit(main(sys.argv[1:]))")
    for command in (["collect"], ["serve"], ["users", "list"], ["report", "kim"]):
        done = subprocess.run([sys.executable, "-c", blocked, *command, "--set", f"collector.db={tmp_path}/c.db"],
                              capture_output=True, text=True, cwd=REPO, timeout=60)
        print(f"{' '.join(command)}: exit {done.returncode}: {done.stderr.strip()}")
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "[central]" in done.stderr


def test_a_device_sends_the_participants_name_from_its_config(tmp_path):
    """The scoring service's own session record (what the uplink sends) carries the name in the
    box's [participants] (control characters left out), and the collector's schema takes it."""
    import json
    import logging
    import threading
    import time

    import zmq

    from common import config as configuration
    from common.bus.service import ServiceContext
    from common.bus.sockets import Publisher
    from common.central.collector import parse
    from common.spool import Spool
    from services.scoring import Sessions

    (tmp_path / "run").mkdir()
    cfg = configuration.load(None, {"bus": {"runtime_dir": str(tmp_path / "run")},
                                    "scoring": {"participant": "kim"},
                                    "participants": {"kim": {"name": "김영희\t"}}})
    context = zmq.Context()
    ctx = ServiceContext("scoring", cfg, context, threading.Event(), logging.getLogger("scoring"))
    pub = Publisher(context, ctx.endpoint())
    spool = Spool(tmp_path / "spool.db")
    try:
        sessions = Sessions(ctx, pub, spool)
        sessions.start(time.monotonic_ns())
        sessions.finish("stopped")
        record = next(r for r in spool.peek() if r.kind == "session")
        payload = dict(record.payload, msg_id=record.msg_id)
        print(f"the device's session record names {payload['participant']!r} as {payload.get('participant_name')!r}")
        assert payload["participant_name"] == "김영희"
        assert parse("silvergym/v1/center1/pi7/session", json.dumps(payload, ensure_ascii=False).encode())[2] == "session"
    finally:
        spool.close()
        pub.close()
        context.destroy(linger=0)


def test_send_test_with_bad_arguments_says_what_is_wrong_in_one_line():
    """A broker without a port, a bad site, an unprintable participant, an unknown routine: one
    line naming the argument, exit 2, no traceback (it was an UnboundLocalError)."""
    cases = {"--broker": ["--broker", "localhost"], "--site": ["--broker", "127.0.0.1:1883", "--site", "a/b"],
             "--participant": ["--broker", "127.0.0.1:1883", "--participant", "k\x07m"],
             "routine": ["--broker", "127.0.0.1:1883", "--routine", "no_such_routine"]}
    for named, args in cases.items():
        done = cli("send-test", *args, timeout=60)
        print(f"{' '.join(args)!r}: exit {done.returncode}: {done.stderr.strip()}")
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and named in done.stderr
