"""`silvergym report PARTICIPANT [-o FILE]`: a self-contained HTML health report for carers.

Plots (matplotlib, embedded as PNG): score over time, per-joint accuracy, range-of-motion trend,
repetitions per session; and a list of alerts.
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from common.timeline import best_and_worst, clock  # noqa: E402


def _use_hangul_font() -> None:
    try:
        out = subprocess.run(["fc-list", ":lang=ko", "file"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return
    for path in sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip()):
        font_manager.fontManager.addfont(path)
        plt.rcParams["font.family"] = font_manager.FontProperties(fname=path).get_name()
        return


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _day(unix: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(unix)


def plots(sessions: list[dict]) -> dict[str, str]:
    _use_hangul_font()
    days = [_day(s["started_unix"]) for s in sessions]
    out = {}
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(days, [s["summary"]["score"] for s in sessions], marker="o", color="#2e86de")
    ax.set_ylim(0, 100)
    ax.set_ylabel("점수 / score")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    out["score"] = _png(fig)

    joints = sorted({j for s in sessions for j in s["summary"]["joints"]})
    fig, ax = plt.subplots(figsize=(7, 3))
    means = [100 * sum(s["summary"]["joints"].get(j, 0) for s in sessions) / len(sessions) for j in joints]
    ax.barh(joints, means, color=["#2ecc71" if m >= 70 else "#f1c40f" if m >= 40 else "#e74c3c" for m in means])
    ax.set_xlim(0, 100)
    ax.set_xlabel("정확도 % / accuracy %")
    out["joints"] = _png(fig)

    fig, ax = plt.subplots(figsize=(7, 3))
    rom_joints = sorted({j for s in sessions for j in s["summary"]["range_of_motion"]} & set(joints))
    for j in rom_joints:
        ax.plot(days, [s["summary"]["range_of_motion"].get(j, {}).get("range") for s in sessions], marker=".", label=j)
    ax.set_ylabel("가동 범위 ° / range of motion °")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    out["rom"] = _png(fig)

    fig, ax = plt.subplots(figsize=(7, 2.5))
    ax.bar(days, [s["summary"]["reps"] for s in sessions], width=0.6, color="#8e44ad")
    ax.set_ylabel("반복 / reps")
    fig.autofmt_xdate()
    out["reps"] = _png(fig)

    timed = [(d, s["summary"]["timeline"]) for d, s in zip(days, sessions) if s["summary"].get("timeline")][-TIMELINES:]
    if timed:
        fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(timed)))
        for row, (_, codes) in enumerate(timed):
            for code, color in TIMELINE_COLORS.items():  # one bar run per colour: a second is a cell
                cells = [(second, 1) for second, c in enumerate(codes) if c == code]
                if cells:
                    ax.broken_barh(cells, (row - 0.4, 0.8), color=color)
        ax.set_yticks(range(len(timed)), [f"{d:%m-%d %H:%M}" for d, _ in timed], fontsize=7)
        ax.set_xlabel("루틴 시작 후 초 / seconds into the routine (초록 정확 · 노랑 근접 · 빨강 틀림 · 회색 측정 안 됨)",
                      fontsize=7)
        ax.set_xlim(0, max(len(c) for _, c in timed))
        out["timeline"] = _png(fig)

    paced = [(d, s["summary"]["timing"]) for d, s in zip(days, sessions) if s["summary"].get("timing")]
    if paced:
        fig, ax = plt.subplots(figsize=(7, 2.5))
        ax.plot([d for d, _ in paced], [t["tempo_start"] for _, t in paced], marker="o", label="시작 / start")
        ax.plot([d for d, _ in paced], [t["tempo_end"] for _, t in paced], marker="o", label="끝 / end")
        ax.axhline(1.0, color="#999", lw=0.8)
        ax.set_ylabel("속도 (강사=1) / tempo")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        fig.autofmt_xdate()
        out["tempo"] = _png(fig)
    return out


TIMELINES = 7  # the last week's sessions, a row each
TIMELINE_COLORS = {"c": "#2ecc71", "n": "#f1c40f", "w": "#e74c3c", "-": "#aab4be"}


def _timeline_section(last: dict, figs: dict) -> str:
    """Each recent session second by second, and where the latest went best and worst."""
    if "timeline" not in figs:
        return ""
    parts = best_and_worst(last.get("timeline", ""))
    where = ""
    if parts:
        (b0, b1, best), (w0, w1, worst) = parts
        where = (f"<p>최근 세션: 가장 잘한 구간 {clock(b0)}–{clock(b1)} (정확 {best:.0%}), 더 연습할 구간 "
                 f"{clock(w0)}–{clock(w1)} (정확 {worst:.0%}) / latest session: best part {clock(b0)}–{clock(b1)} "
                 f"({best:.0%} correct), part to practise {clock(w0)}–{clock(w1)} ({worst:.0%} correct).</p>")
    return (f"""<h2>초 단위 정확도 / Accuracy second by second</h2>{where}"""
            f"""<img alt="timeline" src="data:image/png;base64,{figs['timeline']}">""")


def _tempo_section(last: dict, figs: dict) -> str:
    """Pace apart from form: the tempo against the instructor's at the start and end of each session."""
    if "tempo" not in figs:
        return ""
    timing = last.get("timing", {})
    return (f"""<h2>운동 속도 / Tempo</h2><p>최근: 강사 속도의 {timing.get('tempo', 0):.2f}배, """
            f"""평균 {timing.get('mean_lag_s', 0):.1f}초 늦게 / latest: {timing.get('tempo', 0):.2f}x the instructor's
pace, {timing.get('mean_lag_s', 0):.1f} s behind on average (start {timing.get('tempo_start', 0):.2f}x, end
{timing.get('tempo_end', 0):.2f}x).</p><img alt="tempo" src="data:image/png;base64,{figs['tempo']}">""")


def render(participant: str, sessions: list[dict], alerts: list[dict]) -> str:
    esc = html.escape
    if not sessions:
        body = "<p>아직 기록된 운동이 없습니다. / No sessions recorded yet.</p>"
    else:
        figs = plots(sessions)
        last = sessions[-1]["summary"]
        first_day, last_day = _day(sessions[0]["started_unix"]), _day(sessions[-1]["started_unix"])
        avg = sum(s["summary"]["score"] for s in sessions) / len(sessions)
        rows = "".join(
            f"<tr><td>{_day(a['unix']):%Y-%m-%d %H:%M}</td><td>{esc(a['kind'])}</td><td>{esc(a.get('detail', ''))}</td></tr>"
            for a in alerts) or "<tr><td colspan=3>없음 / none</td></tr>"
        body = f"""
<p>{len(sessions)} sessions, {first_day:%Y-%m-%d} – {last_day:%Y-%m-%d}. Average score {avg:.0f};
latest {last['score']:.0f} with {last['reps']} repetitions.</p>
<h2>점수 추이 / Score over time</h2><img alt="score" src="data:image/png;base64,{figs['score']}">
<h2>관절별 정확도 / Accuracy per joint</h2><img alt="joints" src="data:image/png;base64,{figs['joints']}">
<h2>가동 범위 추이 / Range of motion</h2><img alt="range of motion" src="data:image/png;base64,{figs['rom']}">
<h2>반복 횟수 / Repetitions</h2><img alt="reps" src="data:image/png;base64,{figs['reps']}">{_timeline_section(last, figs)}
{_tempo_section(last, figs)}
<h2>알림 / Alerts</h2><table><tr><th>time</th><th>kind</th><th>detail</th></tr>{rows}</table>"""
    return f"""<!doctype html><html lang="ko"><head><meta charset="utf-8">
<title>silvergym 건강 리포트 – {esc(participant)}</title>
<style>body{{font-family:'Nanum Gothic','Noto Sans CJK KR',sans-serif;max-width:860px;margin:2em auto;color:#222}}
img{{max-width:100%}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px 8px}}</style></head>
<body><h1>운동 건강 리포트 / Exercise health report: {esc(participant)}</h1>{body}
<p style="color:#777">silvergym · generated {dt.datetime.now():%Y-%m-%d %H:%M}</p></body></html>
"""


def safe_file_name(name: str) -> str:
    """A participant's name as part of a file name in the current folder: letters (Hangul
    included), digits, '-' and '_' kept; anything else (a '/', '..', a newline) becomes '_'."""
    kept = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:80].strip("_")
    return kept or "participant"


def run(args) -> int:
    import sqlite3

    from common.central.collector import Store, printable, safe_dsn
    from common.config import load

    cfg = load(args.config, args.overrides).collector
    db = args.db or cfg.db
    out = Path(args.output or f"report-{safe_file_name(args.participant)}.html")
    problem = _input_problem(db, out)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        store = Store(db)
        try:
            sessions, alerts = store.sessions_of(args.participant), store.alerts_of(args.participant)
            known = store.participants() if not sessions else []
        finally:
            store.close()
    except (sqlite3.DatabaseError, OSError) as exc:
        print(f"error: cannot read the database {safe_dsn(db)}: {exc}; give the collector's database (--db)",
              file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - psycopg's errors, when PostgreSQL is not reachable
        print(f"error: cannot reach the database {safe_dsn(db)}: {printable(exc)}; check that PostgreSQL runs",
              file=sys.stderr)
        return 2
    if not sessions:
        print(f"error: no sessions stored for {args.participant!r}; the participants stored are: "
              f"{', '.join(known) if known else 'none yet'}", file=sys.stderr)
        return 2
    usable = [s for s in sessions if plottable(s)]
    if len(usable) < len(sessions):
        print(f"note: left out {len(sessions) - len(usable)} stored session(s) with values no report can show "
              "(stored before the collector checked them)", file=sys.stderr)
    page = render(args.participant, usable, [a for a in alerts if _finite_time(a.get("unix"))])
    tmp = out.with_name(out.name + ".tmp")  # a failure leaves the previous report, never an empty file
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)
    print(f"wrote {out}: {len(usable)} sessions, {len(alerts)} alerts", file=sys.stderr)
    return 0


def _input_problem(db: str, out: Path) -> str:
    """One line for a --db or -o that cannot work, checked before anything is read or written."""
    if not db.startswith(("postgresql://", "postgres://")):
        path = Path(db.removeprefix("sqlite:///"))
        if not path.is_file():
            return f"no database at {path}: give the collector's database file (--db) or its config (--config)"
        with open(path, "rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                return f"{path} is not an SQLite database: give the collector's database file (--db)"
    if not out.parent.is_dir():
        return f"the folder {out.parent} for the report does not exist: create it or choose another -o"
    if out.is_dir():
        return f"{out} is a folder: give a file name for the report (-o report.html)"
    return ""


def _finite_time(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= 4102444800  # to 2100


def plottable(session: dict) -> bool:
    """A stored session whose numbers a chart can take (rows stored before payloads were bounded
    may hold NaN, infinities or times far outside any calendar)."""
    summary = session.get("summary")
    if not isinstance(summary, dict) or not _finite_time(session.get("started_unix")):
        return False
    numbers = [summary.get("score"), summary.get("reps"), *summary.get("joints", {}).values(),
               *(v.get("range") for v in summary.get("range_of_motion", {}).values() if isinstance(v, dict))]
    return all(isinstance(n, (int, float)) and math.isfinite(n) and abs(n) < 1e6 for n in numbers if n is not None)
