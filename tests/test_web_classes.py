"""[class] What carers and center staff read about a class (group mode): `silvergym report --class`
and the carers' web app's class page, on class records made from real runs.

Real parts: the class records' summaries come from real clips (../shared/media) scored by the
product's own code: the two-people scene through `silvergym score --set scoring.mode=group` (the
group path: the jumper is spot 1 with 2 jacks, the walker never a member), and single real clips
played as class members through play_recording (the class-of-one path the class shares), each
record shaped as the scoring service sends it (participant "spot-<n>" for a spot not on the
roster, the roster's key and name otherwise, class_id, spot). Composed classes, labelled as such:
the members were not filmed together. Stored in a real SQLite store by the collector's Store;
`silvergym serve` as a process; Chromium logs in and looks, as tests/test_web.py does.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.central.collector import Store
from tests.conftest import REPO, media_file, poses_of_video
from tests.test_web import LEGIBILITY, PASSWORD, App, browser_factory, browser_login, login  # noqa: F401 - a fixture

requests = pytest.importorskip("requests")
DAY = 86400.0
MODEL = "movenet-lightning"  # the Coral's model (on CPU here): the quicker read of the clips
CLASS_A = "a1" + "0" * 30  # last week's squat class (composed of two real clips)
CLASS_B = "b2" + "1" * 30  # this week's arm-raise class: the real two-people scene
ROSTER_NAME = "김영희"


def played_alone(clip: Path, routine_name: str) -> dict:
    """The summary of one real clip played as one person (play_recording: the path a class member's
    session shares), read with MODEL once per test run (poses_of_video)."""
    from common.cli.routine import video_size
    from common.coach import routine as routines
    from common.coach.session import PersonSession, play_recording

    poses, worlds, fps = poses_of_video(clip, MODEL)
    person = PersonSession(routines.load(routine_name))
    return person.summary(play_recording(person, poses, worlds, fps, video_size(str(clip))))


def class_record(summary: dict, class_id: str, spot: int, started: float, routine: str, key: str = "",
                 name: str = "") -> dict:
    """A session record as services/scoring.py sends a class member's (participant: the roster's key,
    else "spot-<n>"; participant_name only when the box's config names them)."""
    session_id = f"{class_id[:8]}-spot{spot}-{int(started)}"
    record = {"msg_id": session_id, "session_id": session_id, "participant": key or f"spot-{spot}",
              "routine": routine, "started_unix": started, "ended_unix": started + 60.0, "summary": summary,
              "class_id": class_id, "spot": spot}
    if name:
        record["participant_name"] = name
    return record


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    """Two classes at center1/pi7 from real runs: A (squats, 6 days ago): spot 1 not on the roster
    on dev/squat_dumbbell_front_home.mp4 (a woman), spot 2 the roster's kim (김영희) on
    squats_5reps.mp4; B (arm raises, 1 hour ago): the two-people scene in group mode, whose spot 1
    is the jumper (a man): the same "spot-1" key for two different people, as a center's classes
    give it. A fall alert of B's spot 1 (made: nobody falls in the clip), as the box sends one."""
    two_people = media_file("two_people_sports2d.mp4")
    squats, dumbbell = media_file("squats_5reps.mp4"), media_file("dev/squat_dumbbell_front_home.mp4")
    out = subprocess.run([sys.executable, "-m", "common.cli", "score", "--routine", "arm_raise", "--video",
                          str(two_people), "--set", "scoring.mode=group", "--json", "--model", MODEL],
                         cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-2000:]
    group = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    now = time.time()
    records = []
    for member in group:
        spot = member.pop("spot")
        member.pop("name")
        records.append(class_record(member, CLASS_B, spot, now - 3600, "arm_raise"))
    records.append(class_record(played_alone(dumbbell, "squat"), CLASS_A, 1, now - 6 * DAY, "squat"))
    records.append(class_record(played_alone(squats, "squat"), CLASS_A, 2, now - 6 * DAY + 1, "squat", "kim", ROSTER_NAME))
    folder = tmp_path_factory.mktemp("classes")
    db = str(folder / "central.db")
    store = Store(db)
    for r in records:
        assert store.save("center1", "pi7", "session", r, now)
    jumper = records[0]
    store.save("center1", "pi7", "alert", {"msg_id": "fall-spot1-xxxx", "alert_id": "fall-spot1-xxxx", "participant": "spot-1",
                                           "session_id": jumper["session_id"], "kind": "fall", "detail": "sudden drop",
                                           "unix": now - 3590, "spot": 1, "class_id": CLASS_B}, now)
    # Another site's class, which center1's staff never see.
    store.save("center2", "pi9", "session", class_record(dict(records[-1]["summary"]), "c3" + "2" * 30, 1, now - 7200,
                                                         "squat", "park", "박철수"), now)
    store.close()
    print("\nclass records (composed from real runs; truth beside the count):")
    for r in records:
        truth = {CLASS_B: 2}.get(r["class_id"], 5)
        print(f"  class {r['class_id'][:8]} spot {r['spot']} {r['participant']:>7}: {r['routine']}, "
              f"{r['summary']['reps']} reps (truth {truth}), score {r['summary']['score']:.1f}")
    return {"db": db, "folder": folder, "records": records, "group": group}


def test_the_class_report_names_every_member_by_name_or_spot_with_the_routines_title(classes, tmp_path):
    """`silvergym report --class` on the real two-people class and the composed squat class: each
    member by the roster's name or their place ("1번 자리"), never "-" or "spot-1"; the routine's
    title (팔 들어올리기, 스쿼트 as the bundled routines call them), never its key; what to practise in
    the TV's words. The old page showed '-' and 'arm_raise'."""
    from common.texts import load_texts
    from tests.test_report import browser, visible_words

    def report(class_id: str, locale: str) -> str:
        page = tmp_path / f"class-{class_id[:4]}-{locale}.html"
        done = subprocess.run([sys.executable, "-m", "common.cli", "report", "--class", class_id[:8], "-o", str(page),
                               "--db", classes["db"], "--locale", locale], capture_output=True, text=True, cwd=REPO,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        if os.environ.get("SILVERGYM_SHOW_WEB"):  # PNGs to look at: SILVERGYM_SHOW_WEB=/some/dir
            from tests.test_report import screenshot
            screenshot(page, Path(os.environ["SILVERGYM_SHOW_WEB"]) / f"report_class_{class_id[:2]}_{locale}.png")
        return visible_words(browser("--dump-dom", page.as_uri()).stdout)

    ko, en = load_texts("ko"), load_texts("en")
    b_ko, b_en, a_ko = report(CLASS_B, "ko"), report(CLASS_B, "en"), report(CLASS_A, "ko")
    print(f"\nclass B (ko): {b_ko}\nclass B (en): {b_en}\nclass A (ko): {a_ko}")
    jumper = next(r for r in classes["records"] if r["class_id"] == CLASS_B and r["spot"] == 1)
    assert [r["spot"] for r in classes["records"] if r["class_id"] == CLASS_B] == [1], "the walker is no member"
    assert jumper["summary"]["reps"] == 2  # the README's truth: two jumping jacks
    assert "팔 들어올리기" in b_ko and "Arm raises" in b_en and "arm_raise" not in b_ko + b_en
    assert re.search(r"1번 1번 자리 \d+ 2 ", b_ko), "spot 1 called by its place, 2 repetitions"
    assert re.search(r"No\. 1 spot 1 \d+ 2 ", b_en)
    assert "spot-1" not in b_ko + a_ko and " - - " not in b_ko
    assert ko["report.class_practise"] in b_ko and en["report.class_practise"] in b_en
    assert "스쿼트" in a_ko and f"2번 {ROSTER_NAME} " in a_ko and "1번 1번 자리 " in a_ko and "squat " not in a_ko
    # `report spot-1`: one person's report of a spot would draw a trend across two people (88 -> 89)
    spot = subprocess.run([sys.executable, "-m", "common.cli", "report", "spot-1", "-o", str(tmp_path / "spot.html"),
                           "--db", classes["db"]], capture_output=True, text=True, cwd=REPO, timeout=120)
    print(f"report spot-1: exit {spot.returncode}: {spot.stderr.strip()}")
    assert spot.returncode == 2 and "not a person" in spot.stderr and CLASS_B[:8] in spot.stderr
    assert len(spot.stderr.strip().splitlines()) == 1 and not (tmp_path / "spot.html").exists()


def test_a_class_page_shows_its_members_to_staff_and_names_nobody_to_whoever_may_not_see_them(classes, browser_factory):  # noqa: F811
    """The web app: staff of center1 reach each class from the week page (its date, routine title
    and members), open it and see every member (the roster's name linked to her page, a spot by its
    place) with repetitions and score; an unnamed spot is no row among the participants and never
    greeted as a person ('님'), its own page lists each class apart and draws no trend. A family
    carer linked to kim sees the squat class with kim alone (others counted, never named), not the
    arm-raise class; another site's staff get 404 for both, as for a class that does not exist."""
    from selenium.webdriver.common.by import By

    folder = classes["folder"]
    app = App(folder / "app", classes["db"])
    for name, role, where in (("anna", "staff", "center1"), ("ben", "staff", "center2"), ("dana", "family", "")):
        done = app.cli("users", "add", name, "--role", role, *(["--site", where] if where else []), password=PASSWORD)
        assert done.returncode == 0, done.stderr
    assert app.cli("users", "link", "dana", "--site", "center1", "--device", "pi7", "--participant", "kim").returncode == 0
    app.start()
    shots = Path(os.environ.get("SILVERGYM_SHOW_WEB") or folder)
    try:
        url = app.url
        driver = browser_factory()
        driver.set_window_size(1280, 1400)
        browser_login(driver, url, "anna")
        listed = driver.find_element(By.CSS_SELECTOR, "section.classes").text
        people = driver.find_element(By.CSS_SELECTOR, "section.people").text
        driver.save_screenshot(str(shots / "web_week_classes_ko.png"))
        print(f"\nweek page, classes: {listed!r}\nweek page, participants: {people!r}")
        assert "팔 들어올리기" in listed and "스쿼트" in listed and "arm_raise" not in listed
        # spot-1 (two people in two classes) is no participant: no row, no trend drawn from 88 to 89
        assert ROSTER_NAME in people and "spot-" not in people and "자리" not in people
        main = driver.find_element(By.TAG_NAME, "main").text
        alert = driver.find_element(By.CSS_SELECTOR, "section.alerts").text
        print(f"week page, alerts: {alert!r}")
        assert "1번 자리 (center1/pi7)" in alert and "spot-1" not in main and "자리 님" not in main
        links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "section.classes a")]
        assert len(links) == 2
        pages = {}
        for link in links:
            driver.get(link)
            pages[link] = driver.find_element(By.TAG_NAME, "main").text
            driver.save_screenshot(str(shots / f"web_class_{'b' if CLASS_B in link else 'a'}_ko.png"))
        b = next(t for k, t in pages.items() if CLASS_B in k)
        a = next(t for k, t in pages.items() if CLASS_A in k)
        print(f"class B page: {b!r}\nclass A page: {a!r}")
        assert "팔 들어올리기" in b and re.search(r"1번 1번 자리 \d+ 2 ", b) and "spot-1" not in b and "님" not in b
        assert "스쿼트" in a and re.search(rf"2번 {ROSTER_NAME} \d+ \d+ ", a) and "1번 1번 자리" in a
        assert re.search(r"1번 1번 자리 \d+ 2 .* 0% 1", b), "B's spot 1's fall counted on the class page"
        driver.find_element(By.LINK_TEXT, ROSTER_NAME).click()  # a named member's own page
        wait_for_text(driver, f"{ROSTER_NAME} 님의 운동 리포트")
        # spot-1's own page (an alert would link there): each class apart, no trend, no "님"
        driver.get(f"{url}/participant?" + requests.compat.urlencode({"site": "center1", "device": "pi7", "p": "spot-1"}))
        spot_page = driver.find_element(By.TAG_NAME, "main").text
        driver.save_screenshot(str(shots / "web_spot_ko.png"))
        print(f"spot-1's page: {spot_page!r}")
        assert "1번 자리" in spot_page and "님" not in spot_page and "spot-1" not in spot_page
        assert "추세는 그리지 않습니다" in spot_page and not driver.find_elements(By.CSS_SELECTOR, "main img")
        assert "팔 들어올리기" in spot_page and "의자 스쿼트" in spot_page and spot_page.count("수업 보기") == 2
        assert "넘어짐" in spot_page and "기록된 운동이 없습니다" not in spot_page  # its fall, and no "no sessions"
        driver.get(f"{url}/?lang=en")
        assert "Arm raises" in driver.find_element(By.CSS_SELECTOR, "section.classes").text

        class_a = f"{url}/class?site=center1&device=pi7&id={CLASS_A}"
        class_b = f"{url}/class?site=center1&device=pi7&id={CLASS_B}"
        dana, ben = login(url, "dana"), login(url, "ben")
        seen = dana.get(class_a, timeout=30)
        print(f"dana (kim's family) on class A: {seen.status_code}; ben (center2) on A, B: "
              f"{ben.get(class_a, timeout=30).status_code}, {ben.get(class_b, timeout=30).status_code}")
        assert seen.status_code == 200 and ROSTER_NAME in seen.text and "1번 자리" not in seen.text
        assert "볼 권한이 없는 참여자 1명" in seen.text
        assert dana.get(class_b, timeout=30).status_code == 404  # kim was not in it
        assert "팔 들어올리기" not in dana.get(f"{url}/", timeout=30).text  # nor listed for her
        for http, link in ((ben, class_a), (ben, class_b), (dana, f"{url}/class?site=center1&device=pi7&id=ffff"),
                           (dana, f"{url}/class?site=center1&device=pi7&id=x'%20or%201"),
                           (ben, f"{url}/participant?site=center1&device=pi7&p=spot-1")):
            r = http.get(link, timeout=30)
            assert r.status_code == 404 and ROSTER_NAME not in r.text and "자리" not in r.text.replace("자리 순서", ""), link
        assert requests.get(class_a, allow_redirects=False, timeout=30).status_code == 302  # logged out: the login page
        ben_week = ben.get(f"{url}/", timeout=30).text
        assert "박철수" in ben_week or "park" in ben_week
        assert "팔 들어올리기" not in ben_week and ROSTER_NAME not in ben_week
    finally:
        app.stop()


def wait_for_text(driver, text: str) -> None:
    from selenium.webdriver.common.by import By

    from tests.conftest import wait_for
    wait_for(lambda: text in driver.find_element(By.TAG_NAME, "body").text, 30, what=repr(text))


def test_the_class_page_reads_the_same_from_postgresql(classes):
    """The fleet's store is PostgreSQL: the same class records there, the same answers (the class
    list's and the class page's payload LIKE queries and the spot rule), over plain HTTP."""
    from tests.central import Postgres

    if not Postgres.available():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    pg = Postgres()
    dsn = pg.start()
    app = None
    try:
        store = Store(dsn)
        for r in classes["records"]:
            assert store.save("center1", "pi7", "session", r, time.time())
        store.close()
        app = App(classes["folder"] / "pg", dsn, secret_key="class-test-" + "k" * 40)
        for name, role, where in (("anna", "staff", "center1"), ("ben", "staff", "center2")):
            assert app.cli("users", "add", name, "--role", role, "--site", where, password=PASSWORD).returncode == 0
        app.start()
        anna, ben = login(app.url, "anna"), login(app.url, "ben")
        week = anna.get(f"{app.url}/", timeout=60).text
        page = anna.get(f"{app.url}/class?site=center1&device=pi7&id={CLASS_A}", timeout=60)
        shown = re.sub(r"<[^>]+>", " ", page.text)
        print(f"\nPostgreSQL: week lists {week.count('/class?')} classes; class A: {page.status_code}; ben: "
              f"{ben.get(f'{app.url}/class?site=center1&device=pi7&id={CLASS_A}', timeout=60).status_code}")
        assert week.count("/class?") == 2 and "팔 들어올리기" in week and "spot-1" not in week
        assert page.status_code == 200 and ROSTER_NAME in shown and "1번 자리" in shown and "의자 스쿼트" in shown
        assert ben.get(f"{app.url}/class?site=center1&device=pi7&id={CLASS_A}", timeout=60).status_code == 404
    finally:
        if app is not None:
            app.stop()
        pg.stop()


CLASS_P = "c4" + "3" * 30  # a class through the short program: the real two-people scene
CLASS_M = "c5" + "4" * 30  # a made program class (contract-shaped records)


def test_a_program_class_shows_each_members_movements_in_the_report_and_on_the_web_page(tmp_path, browser_factory):  # noqa: F811
    """[program] A real class through a program (two_people_sports2d.mp4 by `program score short_program
    --set scoring.mode=group`: the jumper is spot 1, 2 jumping jacks as arm raises, no squats, no
    marching; the walker no member): `report --class` and the web class page list, under the member,
    each movement by its name with its score and repetitions, rested ones said so (the one-person
    report's cells, report.movement_cells). A fresh-eyes trial's page showed score / reps / "-" / "-"
    and no movement. The movement to practise needs two judged movements (to_practise): none here,
    and none is named (tests/test_report.py checks a made class that has one)."""
    from selenium.webdriver.common.by import By

    from common.program_results import movement_label
    from common.texts import load_texts
    from tests.test_class_program_summary import program_class_of_two_people
    from tests.test_report import browser, program_session, screenshot, visible_words

    members = program_class_of_two_people()
    assert [m["spot"] for m in members] == [1], "the walker is no member"
    jumper = {k: v for k, v in members[0].items() if k not in ("spot", "name")}
    parts = jumper["parts"]
    assert [(p["reps"], p["rested"]) for p in parts] == [(2, False), (0, True), (0, True)]  # truth: 2 jacks, then nothing
    db = str(tmp_path / "central.db")
    store = Store(db)
    assert store.save("center1", "pi7", "session", class_record(jumper, CLASS_P, 1, time.time() - 600,
                                                                "program:short_program"), time.time())
    # And a made program class whose members each have a movement to practise (tests/test_report.py's
    # contract-shaped week: spot 1 marched at 51, kim at 58), labelled made: no real clip has two judged movements here.
    made = []
    for spot, who, i in ((1, "spot-1", 2), (2, "kim", 4)):
        record = program_session(i, 1.0)
        record.update(session_id=f"c5made-spot{spot}-xxxxxxxx", msg_id=f"c5made-spot{spot}-xxxxxxxx", participant=who,
                      class_id=CLASS_M, spot=spot)
        made.append(record)
        assert store.save("center1", "pi7", "session", record, time.time())
    store.close()
    shots = Path(os.environ.get("SILVERGYM_SHOW_WEB") or tmp_path)
    for locale in ("ko", "en"):
        t = load_texts(locale)
        cells = " ".join(f"{movement_label(p, parts, locale)} "
                         f"{t['report.program_rested'] if p['rested'] else format(p['score'], '.0f')} {p['reps']}"
                         for p in parts)
        page = tmp_path / f"report_program_class_{locale}.html"
        done = subprocess.run([sys.executable, "-m", "common.cli", "report", "--class", CLASS_P[:8], "-o", str(page),
                               "--db", db, "--locale", locale], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert done.returncode == 0, done.stderr
        words = visible_words(browser("--dump-dom", page.as_uri()).stdout)
        screenshot(page, shots / f"report_program_class_{locale}.png")
        print(f"\nreport --class ({locale}): {words}\nlooked at: {shots / f'report_program_class_{locale}.png'}")
        assert cells in words, cells
        assert t["report.class_program"] in words and "font-weight:bold" not in page.read_text()
    app = App(tmp_path / "app", db)
    assert app.cli("users", "add", "anna", "--role", "staff", "--site", "center1", password=PASSWORD).returncode == 0
    app.start()
    try:
        driver = browser_factory()
        driver.set_window_size(1280, 900)
        browser_login(driver, app.url, "anna")
        driver.get(f"{app.url}/class?site=center1&device=pi7&id={CLASS_P}")
        main = driver.find_element(By.TAG_NAME, "main").text
        driver.save_screenshot(str(shots / "web_program_class_ko.png"))
        rows = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "table.class tbody tr")]
        print(f"web class page rows: {rows}\nlooked at: {shots / 'web_program_class_ko.png'}")
        t = load_texts("ko")
        assert rows[0].startswith("1번 1번 자리 ") and len(rows) == 1 + len(parts)
        for row, p in zip(rows[1:], parts):
            assert row == f"{movement_label(p, parts, 'ko')} {t['report.program_rested'] if p['rested'] else format(p['score'], '.0f')} "\
                          f"{p['reps']}", row
        assert t["report.class_program"] in main
        # On a phone each cell is a line named by its column (data-label): the movement's by "동작";
        # legible as the participant's page is (tests/test_web.py LEGIBILITY: 16 px, 4.5:1, no sideways scroll).
        driver.set_window_size(390, 900)
        driver.get(f"{app.url}/class?site=center1&device=pi7&id={CLASS_P}")
        driver.save_screenshot(str(shots / "web_program_class_phone_ko.png"))
        labels = [td.get_attribute("data-label") for td in driver.find_elements(By.CSS_SELECTOR, "tr.movement td.movement")]
        texts, scroll_width, inner = driver.execute_script(LEGIBILITY)
        smallest, faintest = min(texts, key=lambda x: x[2]), min(texts, key=lambda x: x[3])
        print(f"phone: movement cells labelled {labels}; smallest {smallest[2]:.1f} px, lowest contrast "
              f"{faintest[3]:.2f}, page {scroll_width} px in {inner}\nlooked at: {shots / 'web_program_class_phone_ko.png'}")
        assert labels == [t["report.program_movement"]] * len(parts)
        assert smallest[2] >= 16 and faintest[3] >= 4.5 and scroll_width <= inner + 1
        driver.set_window_size(1280, 1400)
        driver.get(f"{app.url}/class?site=center1&device=pi7&id={CLASS_M}")
        driver.save_screenshot(str(shots / "web_program_class_made_ko.png"))
        bold = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "table.class tr.movement.practise")]
        weight = {r.find_element(By.CSS_SELECTOR, "td.movement").value_of_css_property("font-weight")
                  for r in driver.find_elements(By.CSS_SELECTOR, "table.class tr.movement.practise")}
        members_rows = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "table.class tbody tr:not(.movement)")]
        print(f"made class: members {members_rows}; bold rows {bold} ({weight})\nlooked at: {shots / 'web_program_class_made_ko.png'}")
        marching = [m["summary"]["parts"][2] for m in made]
        assert bold == [f"{movement_label(p, made[0]['summary']['parts'], 'ko')} {p['score']:.0f} {p['reps']}" for p in marching]
        assert weight == {"700"} and len(members_rows) == 2
        assert all(re.fullmatch(r"\d번 (?:\d번 자리|kim) \d+ \d+ 제자리 걷기 - 0", r) for r in members_rows), members_rows
    finally:
        app.stop()
