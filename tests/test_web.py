"""[carers] `silvergym serve`: the carers' web app, as real processes on a real store.

Real parts: the app under waitress (`silvergym serve`, run as a process on 127.0.0.1), accounts
made with `silvergym users`, a real SQLite store written by the collector's own Store (and
PostgreSQL in the load test), and Chromium from Debian's packages driven through Selenium and
Debian's ChromeDriver, logging in and clicking as a carer would. Access is checked for every
page and POST with a plain HTTP client, as an attacker would send it.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from common.central.collector import Store
from common.mosquitto import free_port
from tests.conftest import REPO, wait_for

requests = pytest.importorskip("requests")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
PASSWORD = "correct horse battery staple"
DAY = 86400.0
HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>\x07\x1b[31m"



def a_session(participant: str, i: int, score: float, left_knee: float = 60.0, right_knee: float = 62.0,
              when: float | None = None) -> dict:
    started = (time.time() - (20 - i) * DAY / 2) if when is None else when
    return {"msg_id": f"{participant[:8]}-{i:04d}-xxxxxxxx", "session_id": f"{participant[:8]}-{i:04d}-xxxxxxxx",
            "participant": participant, "routine": "squat", "started_unix": started, "ended_unix": started + 300,
            "summary": {"score": score, "frames": 400, "frames_scored": 390, "reps": 6,
                        "joints": {"left_knee": 0.7, "right_knee": 0.8},
                        "range_of_motion": {"left_knee": {"min": 100, "max": 100 + left_knee, "range": left_knee},
                                            "right_knee": {"min": 100, "max": 100 + right_knee, "range": right_knee}},
                        "timeline": "ccccnnwwcc"}}


def fill(store: Store) -> dict:
    """Two centers that both have a "kim"; a fall alert each; a participant whose stored name and
    values are hostile (stored as by a collector before it checked them); a device's health."""
    now = time.time()
    for i in range(20):
        store.save("center1", "pi7", "session", a_session("kim", i, 50 + i, left_knee=30, right_knee=70), now)
        store.save("center1", "pi7", "session", a_session("lee", i, 70), now)
        store.save("center2", "pi9", "session", a_session("kim", i, 40), now)
    bad = a_session(HOSTILE, 0, 1e300)
    bad["summary"]["note"] = "x" * 100_000
    store.save("center1", "pi8", "session", bad, now)
    alerts = {}
    for site, device in (("center1", "pi7"), ("center2", "pi9")):
        msg_id = f"alert-{site}-0001-xxxx"
        store.save(site, device, "alert", {"msg_id": msg_id, "alert_id": msg_id, "participant": "kim", "kind": "fall",
                                            "detail": "sudden drop", "unix": now - 3600, "spot": 2}, now)
        alerts[site] = msg_id
    store.save("center1", "pi7", "status", {"state": "online", "unix": now}, now)
    store.save("center1", "pi7", "health", {"unix": now, "fps": 15.0, "backend": "cpu", "camera": "ok", "spool_depth": 0}, now)
    store.save("center2", "pi9", "status", {"state": "offline", "unix": now}, now)
    return alerts


class App:
    """`silvergym serve` as a process, with its config; `url` once it listens."""

    def __init__(self, folder: Path, db: str, **web):
        self.folder, self.port = folder, free_port()
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f'[collector]\ndb = "{db}"\n[web]\nport = {self.port}\n']
        lines += [f"{k} = {str(v).lower() if isinstance(v, bool) else repr(v) if isinstance(v, str) else v}\n"
                  for k, v in web.items()]
        self.config = folder / "silvergym.toml"
        self.config.write_text("".join(lines).replace("'", '"'))
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "serve.log"
        self.proc = None

    def cli(self, *args: str, password: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "common.cli", *args, "--config", str(self.config)],
                              input=(password + "\n") if password is not None else None, capture_output=True,
                              text=True, cwd=REPO, timeout=120)

    def start(self) -> "App":
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "common.cli", "serve", "--config", str(self.config)],
                                         stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        wait_for(lambda: "web app is at" in self.log.read_text() or self.proc.poll() is not None, 60,
                 what="silvergym serve to listen")
        assert self.proc.poll() is None, self.log.read_text()
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


ACCOUNTS = {"boss": ("admin", ""), "anna": ("staff", "center1"), "ben": ("staff", "center2"),
            "dana": ("family", ""), "eve": ("family", ""), "victim": ("staff", "center1")}
LINKS = {"dana": ("center1", "pi7", "kim"), "eve": ("center2", "pi9", "kim")}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("django")
    folder = tmp_path_factory.mktemp("web")
    db = str(folder / "central.db")
    store = Store(db)
    alerts = fill(store)
    store.close()
    app = App(folder / "a", db)
    for name, (role, where) in ACCOUNTS.items():
        done = app.cli("users", "add", name, "--role", role, *(["--site", where] if where else []), password=PASSWORD)
        assert done.returncode == 0, done.stderr
    for name, (s, d, p) in LINKS.items():
        assert app.cli("users", "link", name, "--site", s, "--device", d, "--participant", p).returncode == 0
    app.start()
    yield {"app": app, "db": db, "alerts": alerts, "folder": folder}
    app.stop()


def login(url: str, name: str, password: str = PASSWORD, headers: dict | None = None) -> requests.Session:
    http = requests.Session()
    http.headers.update(headers or {})
    page = http.get(f"{url}/login", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    done = http.post(f"{url}/login", data={"csrfmiddlewaretoken": token, "username": name, "password": password},
                     allow_redirects=False, timeout=30)
    http.last_login = done
    return http


def token_of(http: requests.Session, url: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', http.get(f"{url}/", timeout=30).text).group(1)


def person_url(url: str, site: str, device: str, key: str) -> str:
    return f"{url}/participant?" + requests.compat.urlencode({"site": site, "device": device, "p": key})


# -- the browser -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser_factory():
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("chromium and chromium-driver are not installed (make test installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    made = []

    def make():
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    f"--user-data-dir={tempfile.mkdtemp(prefix='silvergym-chromium-')}"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        made.append(driver)
        return driver
    yield make
    for driver in made:
        driver.quit()


def browser_login(driver, url: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/login")
    driver.find_element(By.ID, "id_username").send_keys(name)
    driver.find_element(By.ID, "id_password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.login button").click()
    wait_for(lambda: driver.current_url.rstrip("/") == url, 30, what=f"{name} to reach the week page")


def people_on_page(driver) -> list[tuple[str, str]]:
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "section.people tbody tr td:first-child")
    return sorted((r.find_element(By.TAG_NAME, "a").text, r.find_element(By.TAG_NAME, "small").text) for r in rows)


def test_staff_and_family_see_exactly_their_people_and_share_an_acknowledgement(site, browser_factory):
    """anna (staff of center1) and dana (family of center1's kim) log in through Chromium; each
    sees exactly their participants (never center2's kim); dana answers the fall alert with
    "확인했습니다", anna then sees who answered and when, and the collector owes no carer that
    alert any more."""
    from selenium.webdriver.common.by import By

    url = site["app"].url
    staff, family = browser_factory(), browser_factory()
    browser_login(staff, url, "anna")
    browser_login(family, url, "dana")
    print(f"\nanna sees {people_on_page(staff)}\ndana sees {people_on_page(family)}")
    seen = people_on_page(staff)
    assert sorted(w for _, w in seen) == ["center1/pi7", "center1/pi7", "center1/pi8"]  # center2's kim never
    assert {n for n, w in seen if w == "center1/pi7"} == {"kim", "lee"}
    assert people_on_page(family) == [("kim", "center1/pi7")]
    assert "center2" not in staff.find_element(By.TAG_NAME, "main").text + family.find_element(By.TAG_NAME, "main").text
    assert "2번 자리" in family.find_element(By.CSS_SELECTOR, "section.alerts").text
    store = Store(site["db"])
    owed_before = [a for a in store.unsent_alerts(["carer"], 0.0) if a[0] == "center1"]
    family.find_element(By.CSS_SELECTOR, "section.alerts form button").click()
    wait_for(lambda: "확인했습니다" in family.find_element(By.CSS_SELECTOR, "section.alerts .acked").text, 30,
             what="the alert shown as answered")
    staff.refresh()
    answered = staff.find_element(By.CSS_SELECTOR, "section.alerts .answered .acked").text
    owed_after = [a for a in store.unsent_alerts(["carer"], 0.0) if a[0] == "center1"]
    store.close()
    print(f"anna then sees: {answered}; notifications owed for center1: {len(owed_before)} -> {len(owed_after)}")
    assert "dana" in answered and "확인했습니다" in answered
    assert len(owed_before) == 1 and owed_after == []
    staff.get(f"{url}/?lang=en")
    assert "I have checked" not in staff.find_element(By.CSS_SELECTOR, "section.alerts").text  # answered: no button
    assert "checked by dana" in staff.find_element(By.CSS_SELECTOR, "section.alerts").text
    staff.get(f"{url}/?lang=ko")
