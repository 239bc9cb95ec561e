"""[people] The carer's report, in Korean (English with --locale en), opened in a real browser.

Chromium from Debian's packages (make test installs it) loads each report and screenshots it;
the words are checked as the browser parsed them (--dump-dom). Two participants' stores: a first
session only, and a year of sessions with a left knee that moves less and two falls.

To write the screenshots into docs/ (docs/report_ko.png, report_en.png,
report_first_session_ko.png) and docs/report_sample.html:
    SILVERGYM_WRITE_REPORT=1 .venv/bin/python -m pytest tests/test_report.py
"""
from __future__ import annotations

import datetime as dt
import html.parser
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import matplotlib.dates as mdates
import numpy as np
import pytest

from common.central.collector import Store
from common.central.report import render, score_figure
from common.texts import load_texts

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it)")
DAY = 86400.0
START = 1.7e9


def session(i: int, day: float, score: float, left_knee: float, right_knee: float, reps: int = 6) -> dict:
    return {"session_id": f"session-{i:04d}-xxxxxxxx", "participant": "kim", "routine": "squat",
            "started_unix": START + day * DAY, "ended_unix": START + day * DAY + 40,
            "summary": {"score": score, "frames": 400, "frames_scored": 390, "reps": reps,
                        "joints": {"left_knee": 0.62, "right_knee": 0.81, "left_hip": 0.77, "right_hip": 0.79,
                                   "trunk_lean": 0.35},
                        "range_of_motion": {"left_knee": {"min": 120, "max": 120 + left_knee, "range": left_knee},
                                            "right_knee": {"min": 95, "max": 95 + right_knee, "range": right_knee}},
                        "timeline": "c" * 8 + "n" * 3 + "w" * 4 + "c" * 20 + "-" * 2 + "c" * 3}}


def a_year() -> tuple[list[dict], list[dict]]:
    """150 sessions over a year, scores rising from ~55 to ~85; the left knee moves ~45 degrees
    less than the right (beyond the measurement noise, report.MEASUREMENT_NOISE_DEG); two falls."""
    rng = random.Random(7)
    sessions = [session(i, i * 365 / 150, min(100.0, 55 + i * 0.2 + rng.uniform(-6, 6)),
                        left_knee=40 + rng.uniform(-4, 4), right_knee=85 + rng.uniform(-4, 4)) for i in range(150)]
    alerts = [{"alert_id": f"a{k}", "participant": "kim", "kind": "fall", "detail": "sudden drop of the hips",
               "unix": START + day * DAY} for k, day in enumerate((100.0, 300.0))]
    return sessions, alerts


class Words(html.parser.HTMLParser):
    """The page's visible words (no tags, no attribute values such as the embedded PNGs)."""

    def __init__(self):
        super().__init__()
        self.words: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script")

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.words.append(data.strip())


def visible_words(page: str) -> str:
    parser = Words()
    parser.feed(page)
    return " ".join(parser.words)


def browser(*args: str) -> subprocess.CompletedProcess:
    # --no-sandbox: the tests may run as root (CI), where Chromium's sandbox refuses to start.
    return subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           *args], capture_output=True, text=True, timeout=180)


def screenshot(page: Path, out: Path) -> np.ndarray:
    """The whole report as Chromium draws it at 1000 px wide, the empty space under it cut."""
    done = browser("--window-size=1000,6000", f"--screenshot={out}", page.as_uri())
    assert out.exists(), f"Chromium wrote no screenshot: {done.stderr[-500:]}"
    picture = cv2.imread(str(out))
    rows = np.flatnonzero((picture < 245).any(axis=(1, 2)))
    picture = picture[:rows.max() + 30]
    cv2.imwrite(str(out), picture, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return picture


def test_one_session_gets_a_dated_axis_of_days_not_years():
    t = load_texts("ko")
    fig = score_figure([session(0, 0.0, 61.0, 60, 62)], t)
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [label.get_text() for label in ax.get_xticklabels() if label.get_text()]
    lo, hi = (mdates.num2date(v) for v in ax.get_xlim())
    print(f"one session: x axis {lo:%Y-%m-%d} to {hi:%Y-%m-%d}, ticks {labels}")
    assert (hi - lo).days <= 3 and len(labels) == len(set(labels)) >= 2
    assert all(re.fullmatch(r"\d\d/\d\d", label) for label in labels)


def test_the_reading_says_what_the_score_means_where_it_goes_and_what_to_mention():
    sessions, alerts = a_year()
    ko = visible_words(render("김영희", sessions, alerts, "ko"))
    assert "100점 만점" in ko and "점수가 올라가고 있습니다" in ko
    assert "왼쪽 무릎의 움직임이 반대쪽보다" in ko and "물리치료사" in ko
    assert "넘어짐 알림이 2번" in ko
    en = visible_words(render("Kim", sessions, alerts, "en"))
    assert "The score is going up" in en and re.search(r"Left knee: (4[1-9])° less movement", en)
    # A falling score asks the carer to check; equal sides and no falls say so.
    falling = [session(i, i, 80 - 3 * i, 60, 62) for i in range(8)]
    words = visible_words(render("김영희", falling, [], "ko"))
    assert "점수가 내려가고 있습니다" in words and "큰 차이는 없습니다" in words and "넘어짐 알림은 없었습니다" in words
    # No repetition counted (a hold, or squats none of which counted): said in words that are true of
    # both (a fresh-eyes trial's squats cut short by a fall read "횟수를 세지 않는 운동입니다"), no empty chart.
    held = [session(i, i, 70, 60, 62, reps=0) for i in range(3)]
    page = render("김영희", held, [], "ko")
    assert "세어진 반복 횟수가 없습니다" in visible_words(page) and 'alt="반복 횟수"' not in page



def test_the_trend_names_the_sessions_it_compares():
    """A fresh-eyes trial's report said "이전 몇 번의 평균" (the average of the previous few) with
    one previous session: against one session it says 지난번 / last time, against N it names N."""
    def said(scores: list[float], locale: str) -> str:
        words = visible_words(render("김영희", [session(i, i, sc, 60, 62) for i, sc in enumerate(scores)], [], locale))
        return next((line for line in words.split(". ") if "점수가" in line or "The score" in line), "")
    two, three, ten = said([60, 72], "ko"), said([60, 61, 72], "ko"), said([60] * 5 + [75] * 5, "ko")
    two_en = said([60, 72], "en")
    print(f"\n2 sessions: {two!r}\n3 sessions: {three!r}\n10 sessions: {ten!r}\n2 sessions (en): {two_en!r}")
    assert "지난번 60점 → 이번 72점" in two and "몇 번" not in two and "평균" not in two
    assert "지난번 61점 → 이번 72점" in three and "몇 번" not in three
    assert "그 전 5번의 평균 60점 → 최근 5번의 평균 75점" in ten and "몇 번" not in ten
    assert "last time 60, this time 72" in two_en and "average" not in two_en
    assert "the 5 sessions before" in said([60] * 5 + [75] * 5, "en")


@needs_browser
@pytest.mark.parametrize("locale", ["ko", "en"])
def test_the_report_reads_in_one_language_in_a_real_browser(tmp_path, locale):
    """`silvergym report` on a real store, opened in Chromium: every chart drawn, the words in
    the one language asked for (no joint identifiers, no English in the Korean report)."""
    sessions, alerts = a_year()
    store = Store(str(tmp_path / "central.db"))
    for s in sessions:
        store.save("center1", "pi7", "session", {"msg_id": s["session_id"], **s}, 0.0)
    for a in alerts:
        store.save("center1", "pi7", "alert", {"msg_id": f"alert-{a['alert_id']}-xxxx", **a}, 0.0)
    store.close()
    page = tmp_path / f"report_{locale}.html"
    done = subprocess.run([sys.executable, "-m", "common.cli", "report", "kim", "--db", str(tmp_path / "central.db"),
                           "-o", str(page), "--locale", locale], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    dom = browser("--dump-dom", page.as_uri()).stdout
    words = visible_words(dom)
    assert f'lang="{locale}"' in dom and dom.count("data:image/png;base64,") == 5  # score, joints, range, reps, timeline
    assert not re.search(r"\b(left|right)_\w+|trunk_\w+|\bNaN\b", words), words
    if locale == "ko":
        english = set(re.findall(r"\b[A-Za-z]{3,}\b", words)) - {"kim", "silvergym"}  # the id and the product
        assert not english, f"English words in the Korean report: {english}"
        assert "150번 운동했습니다" in words and "왼쪽 무릎" in words
    else:
        assert not re.search(r"[\uac00-\ud7a3]", words.replace("김영희", "")), "Hangul in the English report"
    shot = screenshot(page, tmp_path / f"report_{locale}.png")
    colours = {tuple(c) for c in shot[::4, ::4].reshape(-1, 3)}
    print(f"{locale}: {len(words)} characters of text, screenshot {shot.shape[1]}x{shot.shape[0]} px, "
          f"{len(colours)} colours")
    assert shot.shape[0] > 2000  # the five charts take their height: a broken image would not
    if os.environ.get("SILVERGYM_WRITE_REPORT") == "1":
        shutil.copy(tmp_path / f"report_{locale}.png", REPO / "docs" / f"report_{locale}.png")
        if locale == "ko":
            shutil.copy(page, REPO / "docs" / "report_sample.html")


@needs_browser
def test_a_first_session_report_in_the_browser(tmp_path):
    page = tmp_path / "first.html"
    page.write_text(render("김영희", [session(0, 0.0, 61.0, 58, 62)], [], "ko"), encoding="utf-8")
    words = visible_words(browser("--dump-dom", page.as_uri()).stdout)
    assert "처음 운동했습니다" in words and "첫 기록입니다" in words
    shot = screenshot(page, tmp_path / "first.png")
    assert shot.shape[0] > 1200
    if os.environ.get("SILVERGYM_WRITE_REPORT") == "1":
        shutil.copy(tmp_path / "first.png", REPO / "docs" / "report_first_session_ko.png")


@needs_browser
def test_falls_are_shown_to_a_family_whose_person_has_no_session_yet(tmp_path):
    """A fresh-eyes trial: lee had 0 sessions and 3 stored falls; `report lee` said "0 sessions,
    3 alerts" but the page only said "아직 기록된 운동이 없습니다"."""
    texts = load_texts("ko")
    _, alerts = a_year()
    page = tmp_path / "falls_only.html"
    page.write_text(render("이영수", [], alerts, "ko"), encoding="utf-8")
    words = visible_words(browser("--dump-dom", page.as_uri()).stdout)
    print(f"\nthe page says: {words[:300]}")
    assert texts["report.no_sessions"] in words and texts["report.alerts"] in words
    assert len(alerts) >= 2 and words.count(texts["report.kind.fall"]) == len(alerts), "each fall listed"
    quiet = visible_words(render("이영수", [], [], "ko"))
    assert texts["report.no_sessions"] in quiet and texts["report.alerts"] not in quiet


def test_a_person_ahead_of_the_instructor_is_told_ahead_not_a_negative_lag():
    """A fresh-eyes trial's report said "평균 -7.1초 늦게 따라 하셨습니다"."""
    def paced(lag: float) -> list[dict]:
        one = session(0, 0.0, 80.0, 60, 62)
        one["summary"]["timing"] = {"tempo": 1.1, "mean_lag_s": lag, "tempo_start": 1.0, "tempo_end": 1.2}
        return [one]
    ahead = visible_words(render("김영희", paced(-7.1), [], "ko"))
    behind = visible_words(render("김영희", paced(1.4), [], "ko"))
    ahead_en = visible_words(render("Kim", paced(-7.1), [], "en"))
    print(f"\nahead: {ahead[ahead.find('최근 운동의 속도'):][:45]!r}; behind: {behind[behind.find('최근 운동의 속도'):][:45]!r}")
    assert "평균 7.1초 앞서" in ahead and "-7.1" not in ahead
    assert "평균 1.4초 늦게" in behind
    assert "7.1 s ahead" in ahead_en and "-7.1" not in ahead_en


def test_the_pace_is_said_as_an_estimate_and_an_implausible_tempo_as_unreliable():
    """A fresh-eyes trial's report stated "강사 속도의 2.88배" as fact. A tempo fitted over a few
    repetitions is an estimate (said "약", to a tenth); one beyond 0.5-2x (common/pace.py) is more
    likely a reading problem than the person's pace and is said so, not charted; a lag within
    half a second (here -0.1 s) is "in step", neither ahead nor behind."""
    from common.pace import PLAUSIBLE_TEMPO

    texts = load_texts("ko")

    def paced(tempo: float, lag: float) -> list[dict]:
        one = session(0, 0.0, 80.0, 60, 62)
        one["summary"]["timing"] = {"tempo": tempo, "mean_lag_s": lag, "tempo_start": tempo, "tempo_end": tempo}
        return [one]
    fast = render("김영희", paced(2.88, 3.0), [], "ko")
    usual = visible_words(render("김영희", paced(1.13, 1.4), [], "ko"))
    in_step = visible_words(render("김영희", paced(1.0, -0.1), [], "ko"))
    in_step_en = visible_words(render("Kim", paced(1.0, -0.1), [], "en"))
    for name, words in (("2.88x", visible_words(fast)), ("1.13x", usual), ("-0.1 s", in_step)):
        print(f"\n{name}: {words[words.find('최근 운동의 속도'):][:110]!r}")
    said = visible_words(fast)
    assert texts["report.tempo_unsure"].split(":")[0] in said, "an implausible tempo said to be unreliable"
    assert "2.88" not in said and "3.0초" not in said, "neither the tempo nor its lag stated as fact"
    assert fast.count('src="data:image/png;base64,') == render("김영희", paced(1.13, 1.4), [], "ko").count(
        'src="data:image/png;base64,') - 1, f"a tempo beyond {PLAUSIBLE_TEMPO} is not charted"
    assert "강사의 약 1.1배" in usual and "추정" in usual and "평균 1.4초 늦게" in usual
    assert "거의 같은 때에" in in_step and "늦게" not in in_step and "앞서" not in in_step and "0.1초" not in in_step
    assert "in step" in in_step_en and "behind" not in in_step_en and "ahead" not in in_step_en


def class_session(spot: int, who: str, score: float, reps: int, class_id: str, day: float = 10.0) -> dict:
    s = session(100 + spot, day, score, 60, 62, reps=reps)
    s.update(session_id=f"{class_id[:6]}-spot{spot}-xxxxxxxx", participant=who, class_id=class_id, spot=spot)
    s["summary"]["framing"] = {"partly_in_view": 0.25 * (spot == 2), "head_out": 0.0, "feet_out": 0.25 * (spot == 2),
                               "side_out": 0.0, "advice": ""}
    return s


@needs_browser
@pytest.mark.parametrize("locale", ["ko", "en"])
def test_a_class_summary_lists_who_took_part_in_the_order_they_stood(tmp_path, locale):
    """[group] `silvergym report --class ID` on a real store holding two classes: the page (in
    Chromium) lists the class's three participants by spot with their scores and repetitions,
    the roster's names and "3번" for a spot not on it, nothing of the other class, and a name with
    markup as text; a wrong id is one line and exit 2."""
    store = Store(str(tmp_path / "central.db"))
    wanted, other = "3f2a9c1e" + "0" * 24, "77aa00bb" + "1" * 24
    members = [class_session(2, "<b>lee</b>", 55.0, 4, wanted), class_session(1, "kim", 81.0, 5, wanted),
               class_session(3, "spot-3", 67.0, 5, wanted), class_session(1, "park", 90.0, 6, other, day=11.0),
               class_session(4, "spot-4", 0.0, 0, wanted)]
    members[-1]["summary"]["exercised"] = False  # spot 4 did not go through the movement: no score
    # Falls: lee's is in the summary and stored (counted once); kim's question was still open when
    # the session ended, so the fall is stored on its own with kim's session id, not in the summary.
    lee_fall = {"kind": "fall", "unix": 1.8e9 + 12.5, "session_id": members[0]["session_id"], "participant": "<b>lee</b>"}
    members[0]["summary"]["alerts"] = [{"kind": "fall", "unix": lee_fall["unix"], "answer": "no_answer"}]
    kim_fall = {"kind": "fall", "unix": 1.8e9 + 30.0, "session_id": members[1]["session_id"], "participant": "kim"}
    for s in members:
        store.save("center1", "pi7", "session", {"msg_id": s["session_id"], **s}, 0.0)
    for n, alert in enumerate((lee_fall, kim_fall)):
        store.save("center1", "pi7", "alert", {"msg_id": f"fall-{n}", **alert}, 0.0)
    store.close()
    page = tmp_path / "class.html"

    def report(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "common.cli", "report", *args, "--db", str(tmp_path / "central.db"),
                               "--locale", locale], capture_output=True, text=True, cwd=REPO, timeout=120,
                              env={**os.environ, "TZ": "UTC"})  # the machine's zone is not the site's

    done = report("--class", "3f2a9c1e", "-o", str(page))
    assert done.returncode == 0, done.stderr
    words = visible_words(browser("--dump-dom", page.as_uri()).stdout)
    print(f"\n{locale}: {words}")
    rows = re.findall(r"(?:No\. )?(\d)(?:번)? (\S+|\d번 자리|spot \d) (\d+) (\d+) (\d+)% (\d+)", words)
    # [class] spot 3 is not on the roster: called by its place ("3번 자리"), no longer "-"
    assert rows == [("1", "kim", "81", "5", "0", "1"), ("2", "<b>lee</b>", "55", "4", "25", "1"),
                    ("3", "3번 자리" if locale == "ko" else "spot 3", "67", "5", "0", "0")], rows
    assert re.search(r"(?:No\. )?4(?:번)? (?:4번 자리|spot 4) - 0 0% 0", words), "spot 4 (exercised false): '-', not a score of 0"
    assert "park" not in words and "25%" in words and ("4명" in words if locale == "ko" else "4 taking part" in words)
    # [truth] the class's time on the site's clock, named (web.time_zone Asia/Seoul), as the web app's
    from common.central.sitetime import SiteZones
    assert SiteZones().when(members[1]["started_unix"], "center1", locale) in words
    latest = report("--class", "latest", "-o", str(tmp_path / "latest.html"))
    assert latest.returncode == 0 and "park" in (tmp_path / "latest.html").read_text()
    for args, said in ((["--class", "x; drop"], "is not a class id"), (["--class", "abcdef12"], "no class"),
                       (["kim", "--class", "3f2a9c1e"], "not both"), ([], "not both")):
        bad = report(*args, "-o", str(tmp_path / "bad.html"))
        print(f"{args}: exit {bad.returncode}: {bad.stderr.strip()}")
        assert bad.returncode == 2 and said in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    if os.environ.get("SILVERGYM_WRITE_REPORT") == "1":
        screenshot(page, tmp_path / "class.png")
        shutil.copy(tmp_path / "class.png", REPO / "docs" / f"report_class_{locale}.png")


def test_report_class_says_one_participant_and_the_id_rule_the_docs_and_help_say(tmp_path):
    """[class] A fresh-eyes trial: `report --class` said "1 participants", and its error asked for
    "at least 4 characters" of an id while docs/mqtt.md and `--help` said "its first 8". One class
    of one member on a real store: "1 participant"; a bad id's line, the help and the docs give one
    rule, "its first 8 characters (4 at least)", which the code takes (a 4-character prefix works)."""
    store = Store(str(tmp_path / "central.db"))
    class_id = "3f2a9c1e" + "0" * 24
    alone = class_session(3, "spot-3", 67.0, 5, class_id)
    store.save("center1", "pi7", "session", {"msg_id": alone["session_id"], **alone}, 0.0)
    store.close()

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "common.cli", "report", *args], capture_output=True, text=True,
                              cwd=REPO, timeout=120)

    done = cli("--class", "3f2a", "--db", str(tmp_path / "central.db"), "-o", str(tmp_path / "class.html"))
    bad = cli("--class", "x; drop", "--db", str(tmp_path / "central.db"), "-o", str(tmp_path / "bad.html"))
    helped = " ".join(cli("--help").stdout.split())
    docs = " ".join((REPO / "docs" / "mqtt.md").read_text().split())
    print(f"\n{done.stderr.strip()}\n{bad.stderr.strip()}")
    assert done.returncode == 0 and done.stderr.strip().endswith(f"class {class_id}, 1 participant"), done.stderr
    rule = "first 8 characters (4 at least)"
    assert bad.returncode == 2 and rule in bad.stderr and "at least 4 characters" not in bad.stderr
    assert rule in helped and rule in docs, "the help and docs/mqtt.md give the same rule"


def test_left_right_differences_are_flagged_only_for_scored_joints_and_beyond_the_measurement_noise():
    """[truth] A squat session's elbows and shoulders move as they please: 39 and 21 degrees apart
    there say nothing (the routine does not score them). A knee gap within the measured noise of
    the two models' readings is not flagged either; one well beyond it is."""
    from common.central.report import MEASUREMENT_NOISE_DEG, asymmetries

    texts = load_texts("ko")

    def squat(i: int, left_knee: float, right_knee: float) -> dict:
        s = session(i, i, 80, left_knee, right_knee)
        s["summary"]["range_of_motion"].update({
            "left_elbow": {"min": 60, "max": 100, "range": 40}, "right_elbow": {"min": 30, "max": 109, "range": 79},
            "left_shoulder": {"min": 10, "max": 40, "range": 30}, "right_shoulder": {"min": 5, "max": 56, "range": 51}})
        return s
    print(f"\nthe two models' disagreement on a left/right gap (measured): {MEASUREMENT_NOISE_DEG:.0f} degrees")
    said = asymmetries([squat(i, 60, 62) for i in range(5)], texts)
    assert said == [], said  # no elbow, no shoulder: the squat does not score them
    within = 60 - (MEASUREMENT_NOISE_DEG - 1)
    assert asymmetries([squat(i, within, 60) for i in range(5)], texts) == []
    beyond = asymmetries([squat(i, 60 - MEASUREMENT_NOISE_DEG - 15, 60) for i in range(5)], texts)
    assert len(beyond) == 1 and "왼쪽 무릎" in beyond[0]


def test_the_noise_of_a_left_right_gap_is_measured_on_real_clips_with_both_models():
    """The report's MEASUREMENT_NOISE_DEG against the two models' disagreement on the same real
    clips (symmetric squats: any gap either model reads there is measurement), printed."""
    from common.central.report import MEASUREMENT_NOISE_DEG
    from common.cli.routine import poses_from_video, video_size
    from common.coach import routine as routines
    from common.coach.scoring import SessionScorer
    from tests.conftest import media_file

    squat = routines.load("squat")
    gaps = []
    for name in ("squats_5reps.mp4", "dev/squat_side_studio.mp4", "dev/squat_arms_up_front_studio.mp4"):
        clip = str(media_file(name))
        read = {}
        for model in ("blazepose-full", "movenet-lightning"):
            poses, worlds, fps = poses_from_video(clip, model)
            scorer = SessionScorer(squat)
            for i, pose in enumerate(poses[:int(squat.duration_s * fps)]):
                scorer.update(i / fps, pose, worlds[i], video_size(clip))
            rom = scorer.summary()["range_of_motion"]
            read[model] = {g: rom[f"left_{g}"]["range"] - rom[f"right_{g}"]["range"] for g in ("knee", "hip")}
        for g in ("knee", "hip"):
            gaps.append(abs(read["blazepose-full"][g] - read["movenet-lightning"][g]))
            print(f"{name} {g}: left-right gap BlazePose {read['blazepose-full'][g]:+.1f}, "
                  f"MoveNet {read['movenet-lightning'][g]:+.1f}: the models disagree by {gaps[-1]:.1f} degrees")
    rms = float(np.sqrt(np.mean(np.square(gaps))))
    print(f"disagreement RMS {rms:.1f} degrees: one reading's noise ~{rms / np.sqrt(2):.1f}; "
          f"the report flags gaps beyond {MEASUREMENT_NOISE_DEG:.0f}")
    assert MEASUREMENT_NOISE_DEG >= 2 * rms / np.sqrt(2) - 10, "the report's noise floor is well under what was measured"


def test_the_report_says_the_corrections_the_tv_gave_in_its_words_and_no_progress_after_one_session():
    """[truth] The latest session's corrections (the routine's cue table, carried in the summary)
    are said in the report in the words the senior heard; one session gets no word of progress."""
    one = session(0, 0, 72, 60, 62)
    one["summary"]["corrections"] = [{"key": "hip.less", "ko": "엉덩이를 뒤로 조금 더 빼며 앉으세요",
                                      "en": "Sit back a little more, hips back", "phase": "down"}]
    ko = visible_words(render("김영희", [one], [], "ko"))
    en = visible_words(render("Kim", [one], [], "en"))
    assert "엉덩이를 뒤로 조금 더 빼며 앉으세요" in ko and "Sit back a little more, hips back" in en
    for progress in ("좋아지고", "올라가고", "내려가고", "getting better", "going up"):
        assert progress not in ko + en, progress


# A made week of a six-movement program (summaries shaped as the program contract's, not scored
# from video): marching is the weakest and improving, the arm raise rested through once.
PROGRAM_PARTS = (({"ko": "팔 들어올리기", "en": "Arm raises"}, "arm_raise", "shoulder", 150.0),
                 ({"ko": "옆구리 늘리기", "en": "Side bends"}, "side_bend", "shoulder", 30.0),
                 ({"ko": "제자리 걷기", "en": "Marching in place"}, "marching", "hip", 40.0),
                 ({"ko": "의자 스쿼트", "en": "Chair squats"}, "squat", "knee", 70.0),
                 ({"ko": "팔 옆으로 들기", "en": "Lateral raises"}, "lateral_raise", "shoulder", 80.0),
                 ({"ko": "의자에서 일어서기", "en": "Chair stands"}, "chair_stand_30s", "knee", 60.0))
MARCHING_WEEK = (44.0, 48.0, 51.0, 55.0, 58.0)


def program_session(i: int, day: float) -> dict:
    parts = []
    for k, (name, routine, joint, rom) in enumerate(PROGRAM_PARTS):
        score = MARCHING_WEEK[i] if routine == "marching" else 70.0 + 3 * k
        rested = routine == "arm_raise" and i == 2
        # The marching's left hip lifts 45 degrees less than the right (beyond the measurement noise):
        # said for that movement; the others move both sides alike.
        less = 45.0 if routine == "marching" else 0.0
        rom_of = {f"left_{joint}": {"min": 10.0, "max": 10.0 + rom, "range": rom},
                  f"right_{joint}": {"min": 10.0, "max": 10.0 + rom + less, "range": rom + less}}
        parts.append({"part": k, "name": name, "routine": routine, "reps": 0 if rested else 6 + k, "reps_by_side": {},
                      "target_reps": 8, "score": None if rested else score, "scored": not rested,
                      "rom": rom_of, "rested": rested, "skipped": False, "joints": {j: score / 100 for j in rom_of},
                      # each a recognised movement (common/coach/cues.json), as the box's summary says
                      "movement": {"chair_stand_30s": "chair_stand"}.get(routine, routine)})
    scored = [p for p in parts if p["scored"]]
    weakest = min(scored, key=lambda p: p["score"])["part"]
    return {"session_id": f"program-{i:04d}-xxxxxxxx", "participant": "kim", "routine": "program:morning",
            "started_unix": START + day * DAY, "ended_unix": START + day * DAY + 600,
            "summary": {"score": round(sum(p["score"] for p in scored) / len(scored), 1), "frames": 9000,
                        "frames_scored": 8800, "reps": sum(p["reps"] for p in parts),
                        "joints": {j: v for p in scored for j, v in p["joints"].items()},
                        # As the contract says: each joint's min and max over the parts (the range spans movements).
                        "range_of_motion": {j: {"min": 10.0, "max": max(p["rom"][j]["max"] for p in parts if j in p["rom"]),
                                                "range": max(p["rom"][j]["max"] for p in parts if j in p["rom"]) - 10.0}
                                            for p in parts for j in p["rom"]},
                        "program": "morning", "program_title": {"ko": "아침 실버체조", "en": "Morning exercises"},
                        "parts": parts, "weakest_part": weakest, "score_means": "program"}}


@needs_browser
@pytest.mark.parametrize("locale", ["ko", "en"])
def test_a_program_report_shows_each_movement_weakest_first_and_the_weakest_ones_week(tmp_path, locale):
    """[program] A week of a made program's sessions (contract-shaped summaries), a squat session
    before it and one 9 days earlier outside the week, through the real store and `silvergym
    report`, read in Chromium: a row per movement, weakest first (scores 58 < 73 < ... ; the
    movement rested through in one session last in none: it was scored in the latest), each
    movement's week of scores, and the weakest movement's trend in words."""
    store = Store(str(tmp_path / "central.db"))
    days = (0.0, 1.0, 2.5, 4.0, 6.0)
    old = program_session(0, -9.0)  # outside the week: not in the week's figures
    old["session_id"] = "program-old-xxxxxxxx"
    for s in [old, session(50, -0.5, 70.0, 60, 62)] + [program_session(i, d) for i, d in enumerate(days)]:
        assert store.save("center1", "pi7", "session", {"msg_id": s["session_id"], **s}, 0.0)
    store.close()
    page = tmp_path / f"program_{locale}.html"
    done = subprocess.run([sys.executable, "-m", "common.cli", "report", "kim", "--db", str(tmp_path / "central.db"),
                           "-o", str(page), "--locale", locale], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    words = visible_words(browser("--dump-dom", page.as_uri()).stdout)
    t = load_texts(locale)
    names = [name[locale] for name, _, _, _ in PROGRAM_PARTS]
    order = sorted(range(6), key=lambda k: words.index(names[k], words.index(t["report.program_chart"])))
    latest = program_session(4, 6.0)["summary"]["parts"]
    print(f"\n{locale}: rows {[names[k] for k in order]}; scores {[latest[k]['score'] for k in order]}")
    assert [latest[k]["score"] for k in order] == sorted(p["score"] for p in latest)
    assert order[0] == 2  # marching, 58
    assert "44 · 48 · 51 · 55 · 58" in words  # its week, oldest first (the one 9 days before left out)
    assert "- · 70" in words.split(names[0])[-1] or "70 · 70 · - · 70 · 70" in words  # the arm raise rested once
    weakest = t["report.program_weakest"].format(name=names[2], score=58.0)
    from common.central.report import trend
    direction, before, after = trend(list(MARCHING_WEEK))  # the last two against the two before: 49.5 -> 56.5
    assert direction == "up"
    going = t["report.program_week_up"].format(n=5, before=before, after=after)
    print(weakest, going)
    assert weakest in words and going in words
    assert "left_" not in words and "trunk_" not in words
    # Left and right compared within one movement only: the marching's hip, not the shoulder of the
    # arm raise against the lateral raise's.
    side = t["joint.left_hip"]
    asym = [line for line in words.split(t["report.program_chart"])[0].split(". ") if "°" in line]
    print("left/right:", asym)
    assert any(names[2] in line and side in line for line in asym), asym
    assert not any(t["joint.left_shoulder"] in line or t["joint.right_shoulder"] in line for line in asym), asym
    if locale == "ko":
        english = set(re.findall(r"\b[A-Za-z]{3,}\b", words)) - {"kim", "silvergym"}
        assert not english, f"English words in the Korean report: {english}"
    shot = screenshot(page, tmp_path / f"program_{locale}.png")
    assert shot.shape[0] > 1500
    if os.environ.get("SILVERGYM_WRITE_REPORT") == "1":
        shutil.copy(tmp_path / f"program_{locale}.png", REPO / "docs" / f"report_program_{locale}.png")


def test_a_free_dance_gets_no_left_right_advice_and_a_rested_part_no_range_of_motion():
    """[program] Fresh-eyes trial 46c's report and carers' page: a free dance (a part the box did not
    recognise, movement "") got "자유 춤: 왼쪽 어깨의 움직임이 반대쪽보다 38° 작았습니다 ... 물리치료사와
    상의해 보세요", and the sit-ups rested through ("쉼") still listed "오른쪽 무릎 69° · 왼쪽 무릎 60°".
    Left and right are compared only for a recognised movement done alike on both sides (the
    marching's 45° still is: the control); a part not judged shows "-" for its range."""
    from common.central.report import left_right, movement_cells, render

    t = load_texts("ko")
    last = program_session(4, 6.0)
    parts = last["summary"]["parts"]
    dance = {"part": 6, "name": {"ko": "자유 춤", "en": "Free dance"}, "routine": "morning_part6", "reps": 0,
             "reps_by_side": {}, "target_reps": None, "score": 62.0, "scored": True, "rested": False, "skipped": False,
             "rom": {"left_shoulder": {"min": 20.0, "max": 77.0, "range": 57.0},
                     "right_shoulder": {"min": 0.0, "max": 95.0, "range": 95.0}},
             "joints": {"left_shoulder": 0.6, "right_shoulder": 0.64}, "movement": ""}
    situps = {"part": 7, "name": {"ko": "윗몸 일으키기", "en": "Sit-ups"}, "routine": "morning_part4", "reps": 0,
              "reps_by_side": {}, "target_reps": 3, "score": None, "scored": False, "rested": True, "skipped": False,
              "rom": {"right_knee": {"min": 40.0, "max": 109.0, "range": 69.0},
                      "left_knee": {"min": 40.0, "max": 100.0, "range": 60.0}},
              "joints": {}, "movement": ""}
    parts += [dance, situps]
    said = left_right([last], t)
    print("left/right:", said)
    assert not [line for line in said if "자유 춤" in line], said
    assert [line for line in said if "제자리 걷기" in line and t["joint.left_hip"] in line], said  # the control
    cells = movement_cells(situps, parts, t, "ko")
    print("rested row:", cells)
    assert cells["score"] == t["report.program_rested"] and cells["rom"] == "-", cells
    assert movement_cells(dance, parts, t, "ko")["rom"] != "-"  # a judged part keeps its ranges
    words = visible_words(render("kim", [last], [], "ko"))
    assert "38°" not in words and "69°" not in words, words
    # Nothing comparable (only the dance and the rest, or a record from before `movement`): no claim
    # either way, not "no big difference" of sides never compared.
    from common.central.report import reading

    last["summary"]["parts"] = [dance, situps]
    said = reading([last], [], t)
    assert t["report.no_asymmetry"] not in said and not [line for line in said if "°" in line], said


def test_the_report_names_each_correction_once():
    """[truth] A session stored with the same words under two cue keys (trunk_tilt.more and .less
    both '상체를 가운데로 곧게 세우세요', as summaries held them before cues.corrections listed
    each wording once): the family reads them once."""
    from common.central.report import reading

    t = load_texts("ko")
    last = session(0, 0.0, 80.0, 60, 62)
    same = {"ko": "상체를 가운데로 곧게 세우세요", "en": "Keep your upper body straight up in the middle", "phase": ""}
    last["summary"]["corrections"] = [{"key": "trunk_tilt.more", **same}, {"key": "trunk_tilt.less", **same},
                                      {"key": "left_knee.less", "ko": "왼쪽 무릎을 더 굽히세요", "en": "", "phase": ""}]
    said = next(line for line in reading([last], [], t) if line.startswith(t["report.corrections"].split("{")[0]))
    print(said)
    assert said.count(same["ko"]) == 1 and "왼쪽 무릎을 더 굽히세요" in said


def test_the_report_is_titled_with_the_name_the_device_config_gives(tmp_path):
    """A fresh-eyes trial's `silvergym report kim` was titled "kim (trial/tv1) 님" although the
    device's config names kim 김영희: scoring sends that name with every record (participant_name,
    services/scoring.py _named) and the collector stores it, so the command's title uses it, as the
    web app's page does; the key and its place only when no record carries a name."""
    sessions, _ = a_year()
    store = Store(str(tmp_path / "central.db"))
    for s in sessions[:3]:
        store.save("trial", "tv1", "session", {"msg_id": s["session_id"], **s, "participant_name": "김영희"}, 0.0)
    for s in sessions[3:5]:
        store.save("trial", "tv1", "session", {"msg_id": s["session_id"], **s, "participant": "lee"}, 0.0)
    store.close()
    titles = {}
    for who in ("kim", "lee"):
        page = tmp_path / f"{who}.html"
        done = subprocess.run([sys.executable, "-m", "common.cli", "report", who, "--db", str(tmp_path / "central.db"),
                               "-o", str(page)], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert done.returncode == 0, done.stderr
        titles[who] = re.search(r"<title>(.*?)</title>", page.read_text(encoding="utf-8")).group(1)
    print(f"\ntitles: {titles}")
    assert "김영희" in titles["kim"] and "kim" not in titles["kim"] and "trial/tv1" not in titles["kim"]
    assert "lee (trial/tv1)" in titles["lee"]  # no name sent: the key and its place


def test_a_joint_is_averaged_over_the_sessions_that_scored_it():
    """[truth] A fresh-eyes trial's report showed the right elbow's 87 % as 44 %, then 29 %, then
    22 % as squat sessions (which do not score the elbows) were added after one arm raise."""
    from common.central.report import joint_means

    texts = load_texts("ko")
    arm = session(0, 0, 90, 60, 62)
    arm["summary"]["joints"] = {"right_elbow": 0.87, "right_shoulder": 0.9, "nonsense_joint": 0.1}
    squats = [session(i, i, 80, 60, 62) for i in range(1, 4)]
    means = joint_means([arm, *squats], texts)
    print(f"\naccuracy per joint over 1 arm raise and 3 squats: { {j: round(m) for j, m in sorted(means.items())} }")
    assert round(means["right_elbow"]) == 87 and round(means["right_shoulder"]) == 90
    assert round(means["left_knee"]) == 62 and "nonsense_joint" not in means


@needs_browser
@pytest.mark.parametrize("locale", ["ko", "en"])
def test_a_fall_is_shown_at_when_the_person_fell_and_says_the_carer_was_called_after_no_answer(tmp_path, locale):
    """[truth] A fresh-eyes trial: a fall asked about ("괜찮으세요?") is stored with `unix` = when the
    carer was called, after the question's countdown, and `asked_unix` = right after the fall; the
    report showed the call's minute as the fall's, and never said nobody answered. The alert's time
    is the fall's, the row says the answer and the call's minute; an alert without asked_unix (a hard
    fall called at once, or an older device) keeps its `unix`."""
    texts = load_texts(locale)
    fell = 1_796_001_200.0  # 2026-11-30 01:13:20 UTC; the call 70 s later, at 01:14:30
    alerts = [{"alert_id": "a0", "participant": "kim", "kind": "fall", "detail": "", "unix": fell + 70.0,
               "asked_unix": fell, "answer": "no_answer"},
              {"alert_id": "a1", "participant": "kim", "kind": "fall", "detail": "", "unix": fell + 3 * DAY + 60.0,
               "answer": "hard_fall"}]
    page = tmp_path / "fall.html"
    page.write_text(render("김영희", [], alerts, locale, dt.timezone.utc, "UTC"), encoding="utf-8")
    words = visible_words(browser("--dump-dom", page.as_uri()).stdout)
    print(f"\ntruth: fell 2026-11-30 01:13, called 01:14 (no answer); hard fall 2026-12-03 01:14 (called at once)\nthe page says: {words}")
    assert "2026-11-30 01:13" in words and "2026-11-30 01:14" not in words, "the fall's minute, not the call's"
    assert texts["report.answer.no_answer"].format(called="01:14") in words
    assert "2026-12-03 01:14" in words and texts["report.answer.hard_fall"].format(called="01:14") in words
    if os.environ.get("SILVERGYM_SHOW_REPORT"):  # a PNG to look at: SILVERGYM_SHOW_REPORT=/some/dir
        screenshot(page, Path(os.environ["SILVERGYM_SHOW_REPORT"]) / f"fall_{locale}.png")


def test_the_command_shows_the_sites_clock_named_as_the_web_app_does(tmp_path):
    """[truth] A fresh-eyes trial: `silvergym report` printed "2026-12-06 16:18" (the machine's zone,
    unnamed) where the web page, from the same config (web.time_zone Asia/Seoul), said
    "2026-12-07 01:18 한국 시간": another date. The command now reads the site's zone from the config
    (web.site_time_zones, else web.time_zone: common.central.sitetime, the web app's own) and names
    it. Run in a UTC process (TZ=UTC), as a laptop or a server may be."""
    fell = 1_796_574_000.0  # 2026-12-06 16:20 UTC = 2026-12-07 01:20 in Seoul
    s = {**session(0, 0.0, 70.0, 60, 62), "started_unix": fell - 120.0, "ended_unix": fell - 80.0}
    store = Store(str(tmp_path / "central.db"))
    store.save("trial", "tv1", "session", {"msg_id": s["session_id"], **s}, 0.0)
    store.save("trial", "tv1", "alert", {"msg_id": "fall-1", "alert_id": "fall-1", "participant": "kim", "kind": "fall",
                                         "detail": "", "unix": fell + 30.0, "asked_unix": fell, "answer": "no_answer"},
               0.0)
    store.close()
    pages = {}
    for sets in ([], ["--set", "web.site_time_zones={\"trial\": \"Europe/London\"}"]):
        page = tmp_path / f"kim{len(sets)}.html"
        done = subprocess.run([sys.executable, "-m", "common.cli", "report", "kim", "--db", str(tmp_path / "central.db"),
                               "-o", str(page), *sets], capture_output=True, text=True, cwd=REPO, timeout=120,
                              env={**os.environ, "TZ": "UTC"})
        assert done.returncode == 0, done.stderr
        pages[len(sets)] = visible_words(page.read_text(encoding="utf-8"))
    print(f"\ntruth: fell 2026-12-07 01:20 한국 시간 (2026-12-06 16:20 in London)\nSeoul: {pages[0]}\nLondon: {pages[2]}")
    assert "시각 (한국 시간)" in pages[0] and "2026-12-07 01:20" in pages[0] and "2026-12-06" not in pages[0].rsplit("silvergym ·", 1)[0]
    assert "2026-12-06 16:20" in pages[2] and "2026-12-07" not in pages[2].rsplit("silvergym ·", 1)[0]


def test_a_session_a_fall_cut_short_is_left_out_of_scores_and_trends(tmp_path):
    """A second fresh-eyes trial: after a fall inside a session (score 0, summary.fell), the family's
    page said "점수가 내려갔습니다 (지난번 89점 → 이번 0점)" and averaged the 0 in. The command's
    report leaves the session out of scores and trends (said on the command line) and still lists
    the fall; the web app uses the same report.counts_in_scores (test_web)."""
    from common.central.report import counts_in_scores

    good = [session(i, i, 89, 60, 62) for i in range(2)]
    cut_short = session(2, 2, 0, 60, 62, reps=0)
    cut_short["summary"]["fell"] = True
    assert [counts_in_scores(s) for s in (*good, cut_short)] == [True, True, False]
    done, words = _kims_report_with_a_fall(tmp_path, [*good, cut_short], cut_short, 3)
    print(f"\nstderr: {done.stderr.strip()}\npage: {words[:400]}")
    assert "a fall cut short" in done.stderr
    assert "이번 0점" not in words and "점수가 내려" not in words and "평균 점수 89점" in words, \
        "the 0 of a session cut short is no score"
    assert "넘어짐" in words, "the fall is still listed"


def test_a_squat_seen_but_not_measurable_from_the_front_is_said_in_words_not_a_0(tmp_path):
    """A fresh-eyes trial (#41): squats a 2D model saw from the front but could not measure were
    stored with seen_not_measured "front" and exercised true (a squat cycle was judged), and
    `report` said "First session ..., score 0." with no word about standing side on. Now such a
    session holds no score (the box marks it exercised false; one stored before, with exercised
    true, is read the same) and the page says in words that it was seen and to stand side on."""
    good = [session(i, i, 89, 60, 62) for i in range(2)]
    seen = []
    for i, stored_exercised in ((2, True), (3, False)):  # stored before the fix / by the fixed box
        s = session(i, i, 0, 60, 62, reps=0)
        s["summary"].update(seen_not_measured="front", exercised=stored_exercised,
                            joints={"left_knee": 0.0, "right_knee": 0.0, "left_hip": 0.0})
        seen.append(s)
    for sessions, scored in ((seen[:1], "no score"), ([*good, *seen], "the two scored")):
        db = str(tmp_path / f"central{len(sessions)}.db")
        store = Store(db)
        for s in sessions:
            store.save("trial", "tv1", "session", {"msg_id": s["session_id"], **s}, 0.0)
        store.close()
        for locale in ("ko", "en"):
            page = tmp_path / f"kim{len(sessions)}_{locale}.html"
            done = subprocess.run([sys.executable, "-m", "common.cli", "report", "kim", "--db", db, "-o", str(page),
                                   "--locale", locale], capture_output=True, text=True, cwd=REPO, timeout=120)
            assert done.returncode == 0, done.stderr
            words = visible_words(page.read_text(encoding="utf-8"))
            told = load_texts(locale)["report.seen_not_measured"].format(n=len(seen) if scored != "no score" else 1)
            print(f"\n{locale}, {scored}: stderr: {done.stderr.strip()}\npage: {words[:300]}")
            assert "seen_not_measured" in done.stderr and "side on" in done.stderr
            assert told in words, "the carers read that it was seen and to stand side on"
            assert not re.search(r"(?:score|점수) 0(?:\.|점)", words), "no 0 as a score"
            if scored != "no score":
                assert "89" in words, "the scored sessions stay, their average 89"


def _kims_report_with_a_fall(tmp_path, sessions: list[dict], fell_in: dict, after_s: float):
    """kim's sessions and one fall alert `after_s` into `fell_in`, stored centrally; `report kim` in
    Korean: the finished command and the page's visible words."""
    store = Store(str(tmp_path / "central.db"))
    for s in sessions:
        store.save("trial", "tv1", "session", {"msg_id": s["session_id"], **s}, 0.0)
    store.save("trial", "tv1", "alert", {"msg_id": "fall-1", "kind": "fall", "participant": "kim",
                                         "session_id": fell_in["session_id"], "unix": fell_in["started_unix"] + after_s}, 0.0)
    store.close()
    page = tmp_path / "kim.html"
    done = subprocess.run([sys.executable, "-m", "common.cli", "report", "kim", "--db", str(tmp_path / "central.db"),
                           "-o", str(page), "--locale", "ko"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    return done, visible_words(page.read_text(encoding="utf-8"))


def test_a_session_that_ran_its_course_after_a_fall_alarm_is_kept_and_one_a_fall_ended_is_left_out(tmp_path):
    """[program] A fresh-eyes trial: a program session with a (false) fall call in its 4th part went
    on, all 7 parts scored, and ended "video ended"; its record said summary.fell (then set for any
    fall in a session), and `report kim` said "left out 1 session(s) a fall cut short" and, after a
    second session, "처음 운동했습니다" while the week page said 2 sessions. The report now reads how
    the session ended: one that ran its course is kept (with the fall still listed under the
    alerts); one that ended FALL_CUT_SHORT (the person still down after the call) is left out, and
    so is an older record that says fell with no such ending."""
    from common.central.report import FALL_CUT_SHORT, counts_in_scores, cut_short_by_a_fall

    ran_on = session(0, 0, 52.8, 60, 62)
    ran_on["summary"].update(fell=True, ended="video ended",
                             alerts=[{"kind": "fall", "unix": ran_on["started_unix"] + 30, "answer": "no_answer",
                                      "asked_unix": ran_on["started_unix"] + 30}])
    second = session(1, 1, 80, 60, 62)
    second["summary"]["ended"] = "completed"
    ended_by_fall = session(2, 2, 0, 60, 62, reps=0)
    ended_by_fall["summary"].update(fell=True, ended=FALL_CUT_SHORT)
    older = session(3, 3, 0, 60, 62, reps=0)
    older["summary"]["fell"] = True  # a record from before the ending was said: cut short, as before
    print(f"\ncut short: ran on {cut_short_by_a_fall(ran_on)}, completed {cut_short_by_a_fall(second)}, "
          f"ended by a fall {cut_short_by_a_fall(ended_by_fall)}, older fell {cut_short_by_a_fall(older)}")
    assert [counts_in_scores(s) for s in (ran_on, second, ended_by_fall, older)] == [True, True, False, False]
    done, words = _kims_report_with_a_fall(tmp_path, [ran_on, second, ended_by_fall], ran_on, 30)
    print(f"stderr: {done.stderr.strip()}\npage: {words[:300]}")
    assert "left out 1 session(s) a fall cut short" in done.stderr and "wrote" in done.stderr
    assert "2번 운동했습니다" in words and "처음 운동했습니다" not in words, "the two sessions that ran their course"
    assert "넘어짐" in words, "the fall is still listed"


def test_a_program_movement_done_well_is_no_weakness_and_a_twice_done_one_is_told_by_its_place():
    """[program] A fresh-eyes trial's carers' page flagged '가장 약한 동작: 팔 들어올리기, 98점' under
    '살펴볼 점' (the TV names a movement to practise only below 90), and its two rows of jumping jacks
    had one name. The weakest movement is named only below PRACTISE_BELOW, by its place when its
    name is shared; the report's table and the web page's flag read the same function."""
    from common.central.report import weakest_movement
    from common.program_results import PRACTISE_BELOW, movement_label

    t = load_texts("ko")
    jacks = {"ko": "팔 들어올리기", "en": "Arm raises"}
    parts = [{"part": 0, "name": {"ko": "스쿼트", "en": "Squats"}, "routine": "squat", "score": 100.0, "scored": True},
             {"part": 1, "name": jacks, "routine": "arm_raise", "score": 98.0, "scored": True},
             {"part": 2, "name": jacks, "routine": "arm_raise", "score": 100.0, "scored": True}]
    done_well = {"summary": {"parts": parts, "weakest_part": 1}}
    print("weakest at 98:", repr(weakest_movement(done_well, t, "ko")))
    assert weakest_movement(done_well, t, "ko") == ""
    low = 100.0 * PRACTISE_BELOW - 1.0
    parts[1]["score"] = low
    said = weakest_movement(done_well, t, "ko")
    print(f"weakest at {low}:", said)
    assert said == t["report.program_weakest"].format(name="2. 팔 들어올리기", score=low)
    assert [movement_label(p, parts, "en") for p in parts] == ["Squats", "2. Arm raises", "3. Arm raises"]


@needs_browser
@pytest.mark.parametrize("locale", ["ko", "en"])
def test_a_program_class_report_shows_each_members_movements_and_the_one_to_practise(tmp_path, locale):
    """[program] `report --class` of a class through a program (made records shaped as the program
    contract's, program_session's: spot 1 rested the arm raises and marched weakest at 51, the roster's
    kim marched at 58): under each member their movements in program order with score and repetitions
    (report.movement_cells, the one-person report's cells), the movement to practise
    (program_results.to_practise) named in their practise cell and its row in bold. A fresh-eyes trial
    saw score / reps / "-" / "-" and no movement at all."""
    from common.program_results import movement_label

    t = load_texts(locale)
    class_id = "9c1a55e0" + "2" * 24
    members = []
    for spot, who, i in ((1, "spot-1", 2), (2, "kim", 4)):
        s = program_session(i, 1.0)
        s.update(session_id=f"9c1a55-spot{spot}-xxxxxxxx", participant=who, class_id=class_id, spot=spot)
        members.append(s)
    store = Store(str(tmp_path / "central.db"))
    for s in members:
        store.save("center1", "pi7", "session", {"msg_id": s["session_id"], **s}, 0.0)
    store.close()
    page = tmp_path / f"program_class_{locale}.html"
    done = subprocess.run([sys.executable, "-m", "common.cli", "report", "--class", class_id[:8], "-o", str(page),
                           "--db", str(tmp_path / "central.db"), "--locale", locale], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    words = visible_words(browser("--dump-dom", page.as_uri()).stdout)
    shot = tmp_path / f"program_class_{locale}.png"
    screenshot(page, shot)
    print(f"\n{locale}: {words}\nlooked at: {shot}")
    rested = t["report.program_rested"]
    for s in members:
        parts = s["summary"]["parts"]
        marching = parts[2]
        said = [rested if p["rested"] else f"{p['score']:.0f}" for p in parts]
        cells = " ".join(f"{movement_label(p, parts, locale)} {score} {p['reps']}" for p, score in zip(parts, said))
        assert cells in words, f"spot {s['spot']}'s movements in program order: {cells!r}"
        # Marching is each member's weakest (51 and 58, under PRACTISE_BELOW): named in the practise cell, its row bold.
        name = movement_label(marching, parts, locale)
        assert re.search(rf"{s['spot']}(?:번)? \S+(?: 자리| \d)? {s['summary']['score']:.0f} {s['summary']['reps']} - 0 {name} ",
                         words.replace("No. ", "").replace("spot 1", "spot1")), (s["spot"], words)
        bold = re.search(rf'<tr class="movement" style="font-weight:bold"><td></td><td[^>]*>{re.escape(name)}</td>'
                         rf'<td>{marching["score"]:.0f}</td>', page.read_text())
        assert bold, f"spot {s['spot']}: the marching row is bold"
    assert page.read_text().count('style="font-weight:bold"') == 2  # one movement to practise each
    assert t["report.class_program"] in words
