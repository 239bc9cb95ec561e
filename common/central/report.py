"""`silvergym report PARTICIPANT [-o FILE] [--locale ko|en]`: a self-contained HTML report for carers.
`silvergym report --class ID`: one class's summary (group mode): who took part, each one's result.

In one language (Korean by default; the words are in common/locales). A short plain-language
reading first (what the score means, its trend, a left/right difference worth mentioning to a
physiotherapist, falls), then charts (matplotlib, embedded as PNG) that read with one session
or a year of them: score, accuracy per joint, range of motion, repetitions, the recent sessions
second by second, tempo; and the alerts.
"""
from __future__ import annotations

import base64
import contextvars
import datetime as dt
import functools
import html
import io
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from common import pace  # noqa: E402
from common.central.collector import on_calendar  # noqa: E402
from common.central.sitetime import fell_unix  # noqa: E402
from common.files import write_atomically  # noqa: E402
from common.texts import load_texts  # noqa: E402
from common.timeline import CODES, best_and_worst, clock, share_verdict  # noqa: E402

GOOD_SCORE = 70  # the score the report calls good (as timeline.share_verdict calls a joint's share)
TREND_POINTS = 5  # a score change smaller than this is "steady"
RECENT = 5  # sessions the trend and the left/right difference are taken over
ASYMMETRY_DEG = 10.0  # a left/right range-of-motion difference worth a physiotherapist's look:
ASYMMETRY_SHARE = 0.2  # at least this many degrees and this share of the larger range
# ... and beyond what measuring alone makes of a left/right gap: the two pose models read the gap
# of the same movement on the same real clip 0.9-47.4 degrees apart (RMS 26.4 over 11 joint pairs
# of 6 clips, ../shared/media; tests/test_report.py prints it), so one reading's noise is about
# 26.4 / sqrt(2) = 18.7 degrees, and a gap is worth a word only beyond twice that.
MEASUREMENT_NOISE_DEG = 37.0


@functools.cache
def _use_hangul_font() -> None:
    plt.rcParams["axes.unicode_minus"] = False  # Hangul fonts lack U+2212: a minus drawn as a box
    # Names come from devices: a joint called "$\\foo{$" is text, not TeX for matplotlib to parse
    # (it made the report exit 1).
    plt.rcParams["text.parse_math"] = False
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


# The zone a report's dates and times are in: the site's, set by render_body's caller (the web app);
# None (the `report` command): this machine's.
_ZONE: contextvars.ContextVar = contextvars.ContextVar("report_zone", default=None)


def _day(unix: float) -> dt.datetime:
    zone = _ZONE.get()
    return dt.datetime.fromtimestamp(unix, zone).replace(tzinfo=None) if zone else dt.datetime.fromtimestamp(unix)


def date_axis(ax, days: list[dt.datetime]) -> None:
    """Dates along x that make sense for one session (a day either side, not matplotlib's
    years) and for a year (months), written as numbers, which read in any language."""
    first, last = min(days), max(days)
    pad = max(dt.timedelta(days=1), (last - first) * 0.03)
    ax.set_xlim(first - pad, last + pad)
    shown_days = (last - first + 2 * pad).days
    # Whole days only: matplotlib would tick every few hours around one session, each labelled the same.
    ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, shown_days // 7)) if shown_days <= 21
                               else mdates.AutoDateLocator(minticks=3, maxticks=8))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m/%d" if last - first < dt.timedelta(days=150) else "%Y/%m"))


def score_figure(sessions: list[dict], t: dict):
    _use_hangul_font()
    days = [_day(s["started_unix"]) for s in sessions]
    fig, ax = plt.subplots(figsize=(7, 3))
    many = len(sessions) > 60
    ax.plot(days, [s["summary"]["score"] for s in sessions], marker="." if many else "o",
            lw=0.8 if many else 1.5, color="#2e86de")
    ax.axhline(GOOD_SCORE, color="#2ecc71", lw=1, ls="--", label=t["report.good_line"])
    ax.set_ylim(0, 100)
    ax.set_ylabel(t["report.score_axis"])
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    date_axis(ax, days)
    return fig


def joint_means(sessions: list[dict], t: dict) -> dict[str, float]:
    """Each joint's accuracy in percent, averaged over the sessions that scored it: a squat does
    not score the elbows, and a week of squats after one arm raise is not the elbows at 0 %. Only
    the joints silvergym measures (those the report has words for): a device may send thousands."""
    scored: dict[str, list[float]] = {}
    for s in sessions:
        for j, share in s["summary"]["joints"].items():
            if f"joint.{j}" in t:
                scored.setdefault(j, []).append(share)
    return {j: 100 * sum(v) / len(v) for j, v in scored.items()}


def plots(sessions: list[dict], t: dict) -> dict[str, str]:
    _use_hangul_font()
    days = [_day(s["started_unix"]) for s in sessions]
    name = lambda joint: t.get(f"joint.{joint}", joint)  # noqa: E731
    out = {"score": _png(score_figure(sessions, t))}

    accuracy = joint_means(sessions, t)
    joints = sorted(accuracy, key=name)
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.35 * max(len(joints), 1)))
    means = [accuracy[j] for j in joints]
    # The weakest part first, read from the top (barh draws the first row at the bottom).
    joints, means = [list(x) for x in zip(*sorted(zip(joints, means), key=lambda jm: -jm[1]))] or ([], [])
    ax.barh([name(j) for j in joints], means,
            color=[TIMELINE_COLORS[CODES[share_verdict(m / 100)]] for m in means])
    for row, m in enumerate(means):
        ax.text(min(m + 1, 92), row, f"{m:.0f}%", va="center", fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel(t["report.joints_axis"])
    out["joints"] = _png(fig)

    rom_joints = sorted({j for s in sessions for j in s["summary"]["range_of_motion"]} & set(joints), key=name)
    if rom_joints:
        fig, ax = plt.subplots(figsize=(7, 3))
        highest = 0.0
        for j in rom_joints:
            ranges = [s["summary"]["range_of_motion"].get(j, {}).get("range") for s in sessions]
            highest = max([highest] + [r for r in ranges if isinstance(r, (int, float))])
            ax.plot(days, ranges, marker="." if len(sessions) > 60 else "o", label=name(j))
        ax.set_ylabel(t["report.rom_axis"])
        # Room above the highest point for its marker and the legend (one session's points sat on
        # the top edge, cut in half, under the legend).
        ax.set_ylim(0, max(highest * 1.3, 10.0))
        ax.legend(fontsize=7, ncol=2)
        ax.grid(alpha=0.3)
        date_axis(ax, days)
        out["rom"] = _png(fig)

    if any(s["summary"]["reps"] for s in sessions):
        fig, ax = plt.subplots(figsize=(7, 2.5))
        reps = [s["summary"]["reps"] for s in sessions]
        if len(sessions) <= 31:
            ax.bar(days, reps, width=0.6, color="#8e44ad")
        else:  # a bar per session would be a hairline over a year
            ax.plot(days, reps, ".", color="#8e44ad")
            ax.set_ylim(bottom=0)
        ax.set_ylabel(t["report.reps_axis"])
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        date_axis(ax, days)
        out["reps"] = _png(fig)

    timed = [(d, s["summary"]["timeline"]) for d, s in zip(days, sessions) if s["summary"].get("timeline")][-TIMELINES:]
    if timed:
        fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(timed)))
        for row, (_, codes) in enumerate(timed):
            for code, color in TIMELINE_COLORS.items():  # one bar run per colour: a second is a cell
                cells = [(second, 1) for second, c in enumerate(codes) if c == code]
                if cells:
                    ax.broken_barh(cells, (row - 0.4, 0.8), color=color)
        ax.set_yticks(range(len(timed)), [f"{d:%m/%d %H:%M}" for d, _ in timed], fontsize=7)
        ax.set_xlabel(t["report.timeline_axis"], fontsize=7)
        ax.set_xlim(0, max(len(c) for _, c in timed))
        out["timeline"] = _png(fig)

    # Only the tempos worth believing (common/pace.py): a reading problem's 2.9x is no pace to chart.
    paced = [(d, s["summary"]["timing"]) for d, s in zip(days, sessions)
             if isinstance(s["summary"].get("timing"), dict) and pace.plausible(s["summary"]["timing"].get("tempo"))]
    if paced:
        fig, ax = plt.subplots(figsize=(7, 2.5))
        ax.plot([d for d, _ in paced], [p["tempo_start"] for _, p in paced], marker="o", label=t["report.tempo_start"])
        ax.plot([d for d, _ in paced], [p["tempo_end"] for _, p in paced], marker="o", label=t["report.tempo_end"])
        ax.axhline(1.0, color="#999", lw=0.8)
        ax.set_ylabel(t["report.tempo_axis"])
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        date_axis(ax, [d for d, _ in paced])
        out["tempo"] = _png(fig)
    return out


TIMELINES = 7  # the last week's sessions, a row each
TIMELINE_COLORS = {"c": "#2ecc71", "n": "#f1c40f", "w": "#e74c3c", "-": "#aab4be"}


def trend(scores: list[float]) -> tuple[str, float, float] | None:
    """Where the score is going: ("up" | "down" | "flat", mean before, mean lately) over the last
    RECENT sessions against the RECENT before them (fewer when there are fewer); None for one."""
    if len(scores) < 2:
        return None
    recent = min(RECENT, len(scores) // 2)
    before, after = (sum(part) / len(part) for part in (scores[-2 * recent:-recent], scores[-recent:]))
    return ("up" if after - before >= TREND_POINTS else "down" if before - after >= TREND_POINTS else "flat"), before, after


def reading(sessions: list[dict], alerts: list[dict], t: dict) -> list[str]:
    """The plain-language reading a carer acts on: what the score means and where it is going,
    a left/right difference worth mentioning to a physiotherapist, and the falls."""
    scores = [s["summary"]["score"] for s in sessions]
    said = [t["report.score_means"]]
    last = sessions[-1]["summary"] if sessions else {}
    test = last.get("test")
    if isinstance(test, dict) and test.get("rating") in ("below", "normal", "above", "incomplete") and all(
            isinstance(test.get(k), (int, float)) for k in ("count", "seconds", "low", "high")):
        # A fitness test's result is its count against the age norm, said as the TV says it.
        said.append(t[f"summary.test.{test['rating']}"] + ": " + t["summary.test"].format(
            count=int(test["count"]), seconds=f"{float(test['seconds']):.0f}", low=int(test["low"]),
            high=int(test["high"]), group=str(test.get("age_group", ""))[:8]))
    elif isinstance(last.get("hold_s"), (int, float)) and isinstance(last.get("hold_target_s"), (int, float)):
        said.append(t["summary.hold"].format(held=f"{last['hold_s']:.0f}", target=f"{last['hold_target_s']:.0f}"))
    going = trend(scores)
    if going is None:
        said.append(t["report.first_session"])
    else:
        # Words true to the history: "지난번" against one session, "the N before" against N.
        compared = min(RECENT, len(scores) // 2)
        shallower = going[0] == "down" and shallower_lately(sessions, compared)
        key = f"report.trend_{going[0]}" + ("_shallower" if shallower else "") + ("_last" if compared == 1 else "")
        said.append(t[key].format(before=going[1], after=going[2], n=compared,
                                  share=f"{100 * shallower:.0f}" if shallower else ""))
    said.extend(count_and_depth(last, t))
    said.append(t["report.rom_means"])
    # The corrections the TV gave in the latest session, in the words it used (the routine's cue
    # table, carried in the summary): what the family hears is what the senior heard.
    lang = t.get("report.cue_language", "en")  # which of the summary's words (ko, en) this report reads
    # Each wording once (a session stored before the summary listed them once may repeat them).
    given = list(dict.fromkeys(c.get(lang) for c in last.get("corrections", [])
                               if isinstance(c, dict) and isinstance(c.get(lang), str)))
    if given:
        said.append(t["report.corrections"].format(cues=" · ".join(w[:80] for w in given[:5])))
    flagged = left_right(sessions[-RECENT:], t)
    # "no big difference" only where left and right were compared: not of programs whose movements
    # none compare (a free dance, records from before parts named their movement)
    said.extend(flagged or ([t["report.no_asymmetry"]] if sides_compared(sessions[-RECENT:]) else []))
    falls = [a for a in alerts if a.get("kind") == "fall"]
    said.append(t["report.falls"].format(n=len(falls), last=f"{_day(fell_unix(falls[-1])):%Y-%m-%d}") if falls
                else t["report.no_falls"])
    return said


def shallower_lately(sessions: list[dict], compared: int) -> float:
    """The latest `compared` sessions' median depth against the routine's target when they were
    shallower than it (program_results.shallow_depth, the TV's rule) and than the `compared` before
    them: a score that went down because the movements did (a shallower squat scores that much
    less: docs/scoring.md "A shallow repetition"), not a sign of pain or illness to ask about.
    0.0 otherwise (a session without a depth, before or lately, says nothing)."""
    from common.program_results import shallow_depth

    def shares(part: list[dict]) -> list[float]:
        return [float(s["summary"]["rep_depth"]["share"]) for s in part
                if isinstance(s["summary"].get("rep_depth"), dict)
                and isinstance(s["summary"]["rep_depth"].get("share"), (int, float))]

    lately, before = sessions[-compared:], sessions[-2 * compared:-compared]
    if not all(shallow_depth(s["summary"]) for s in lately) or not shares(before):
        return 0.0
    now = sorted(shares(lately))[len(lately) // 2]
    then = sorted(shares(before))[len(shares(before)) // 2]
    return now if now < then else 0.0


def count_and_depth(last: dict, t: dict) -> list[str]:
    """The latest session's count per side (a one-sided or alternating routine) and its depth
    against the routine's target when shallower than it, as the TV's summary says them."""
    from common.program_results import shallow_depth

    said = []
    by_side = last.get("reps_by_side")
    if isinstance(by_side, dict) and all(isinstance(by_side.get(k), int) for k in ("left", "right")):
        said.append(t["report.reps_sides"].format(left=by_side["left"], right=by_side["right"]))
    if depth := shallow_depth(last):
        said.append(t["report.depth"].format(share=f"{100 * float(depth['share']):.0f}",
                                             degrees=f"{float(depth.get('degrees', 0)):.0f}",
                                             target=f"{float(depth.get('target_degrees', 0)):.0f}"))
    return said


def left_right(recent: list[dict], t: dict) -> list[str]:
    """asymmetries() of the recent sessions; a program's, movement by movement: its summary's
    whole-session range of motion spans different movements (a knee's from the squat and from
    the marching), and only one movement's left and right compare; and only a movement meant to
    be done alike on both sides (program_results.compares_sides: a free dance's are not)."""
    from common.program_results import compares_sides, judged, movement_key, movement_name

    plain = [s for s in recent if not isinstance(s["summary"].get("parts"), list)]
    said = asymmetries(plain, t) if plain else []
    movements: dict[tuple, list[dict]] = {}
    names: dict[tuple, str] = {}
    for s in recent:
        for part in s["summary"].get("parts", []) if isinstance(s["summary"].get("parts"), list) else []:
            if judged(part) and compares_sides(part) and isinstance(part.get("rom"), dict):
                key = movement_key(part)
                joints = part.get("joints") if isinstance(part.get("joints"), dict) else {}
                movements.setdefault(key, []).append({"summary": {"range_of_motion": part["rom"], "joints": joints}})
                names[key] = movement_name(part, t.get("report.cue_language", "en"))
    for key, units in movements.items():
        said.extend(f"{names[key]}: {line}" for line in asymmetries(units, t))
    return said


def sides_compared(recent: list[dict]) -> bool:
    """Whether left_right compares anything in `recent`: a session of one routine, or a program's
    judged part of a movement done alike on both sides (program_results.compares_sides)."""
    from common.program_results import compares_sides, judged

    for s in recent:
        parts = s["summary"].get("parts")
        if not isinstance(parts, list):
            return True
        if any(judged(p) and compares_sides(p) for p in parts):
            return True
    return False


def asymmetries(recent: list[dict], t: dict) -> list[str]:
    """One sentence per left/right pair the routine scores whose mean range of motion differs by
    ASYMMETRY_DEG (and beyond MEASUREMENT_NOISE_DEG) and ASYMMETRY_SHARE or more over the recent
    sessions."""
    def mean_range(joint: str) -> float | None:
        seen = [s["summary"]["range_of_motion"][joint]["range"] for s in recent
                if isinstance(s["summary"]["range_of_motion"].get(joint), dict)
                and s["summary"]["range_of_motion"][joint].get("range") is not None]
        return sum(seen) / len(seen) if seen else None

    said = []
    # Only joints the routine scores (the summary's `joints`): a squat's elbows swing as they
    # please, and a difference there says nothing about the person.
    scored = {j for s in recent for j in s["summary"].get("joints", {})}
    joints = sorted({j[5:] for s in recent for j in s["summary"]["range_of_motion"]
                     if j.startswith("left_") and f"joint.{j}" in t and j in scored and f"right_{j[5:]}" in scored})
    for joint in joints:
        left, right = mean_range(f"left_{joint}"), mean_range(f"right_{joint}")
        if left is None or right is None:
            continue
        gap = abs(left - right)
        if gap >= max(ASYMMETRY_DEG, MEASUREMENT_NOISE_DEG) and gap >= ASYMMETRY_SHARE * max(left, right):
            smaller = f"left_{joint}" if left < right else f"right_{joint}"
            said.append(t["report.asymmetry"].format(side=t.get(f"joint.{smaller}", smaller), deg=gap, n=len(recent)))
    return said


def _timeline_section(last: dict, figs: dict, t: dict) -> str:
    """Each recent session second by second, and where the latest went best and worst."""
    if "timeline" not in figs:
        return ""
    parts = best_and_worst(last.get("timeline", ""))
    where = ""
    if parts:
        (b0, b1, best), (w0, w1, worst) = parts
        where = "<p>" + html.escape(t["report.timeline_parts"].format(
            b0=clock(b0), b1=clock(b1), best=best, w0=clock(w0), w1=clock(w1), worst=worst)) + "</p>"
    return _chart(t["report.timeline_chart"], "timeline", figs, where)


def _tempo_section(last: dict, figs: dict, t: dict) -> str:
    """Pace apart from form: the tempo against the instructor's at the start and end of each session,
    the latest said as an estimate (common/pace.py: ahead, behind or in step; an implausible tempo
    said to be unreliable, and left out of the chart)."""
    timing = last.get("timing")
    if not isinstance(timing, dict) or not timing:
        return ""
    latest = f"<p>{html.escape(pace.pace_words(timing, t))}</p>"
    return _chart(t["report.tempo_chart"], "tempo", figs, latest) or \
        f"<h2>{html.escape(t['report.tempo_chart'])}</h2>{latest}"


def weakest_movement(session: dict, t: dict, locale: str) -> str:
    """The sentence naming a program session's weakest movement and its score; "" for a session
    that was not a program, had fewer than two movements judged, or whose weakest scored
    PRACTISE_BELOW or more (the TV's summary names none then either)."""
    from common.program_results import movement_label, to_practise

    summary = session.get("summary")
    worst = to_practise(summary)  # a movement done well (90 or more) is no weakness to look at
    if worst is None:
        return ""
    return t["report.program_weakest"].format(name=movement_label(worst, summary.get("parts"), locale),
                                              score=float(worst["score"]))


def movement_cells(part: dict, parts: list, t: dict, locale: str) -> dict[str, str]:
    """One movement of a program session as the pages show it (the one-person report's table, a
    class's rows under each member): its name (common/program_results.movement_label), repetitions,
    range of motion (the two joints that moved most) and score, or that it was rested or skipped."""
    from common.program_results import judged, movement_label

    reps = part.get("reps") if isinstance(part.get("reps"), int) and not isinstance(part.get("reps"), bool) else 0
    score = f"{float(part['score']):.0f}" if judged(part) else \
        t["report.program_skipped" if part.get("skipped") is True else "report.program_no_reps"
          if part.get("not_scored") == "no_repetitions" else "report.program_rested"]
    # A part rested through or skipped shows that ("쉼"), not the ranges of whatever moved meanwhile.
    rom = part.get("rom") if judged(part) and isinstance(part.get("rom"), dict) else {}
    ranges = [(j, r["range"]) for j, r in rom.items() if f"joint.{j}" in t and isinstance(r, dict)
              and isinstance(r.get("range"), (int, float)) and math.isfinite(r["range"])]
    widest = sorted(ranges, key=lambda jr: -jr[1])[:2]  # the joints that move most tell the movement
    # A timed movement (a dance, a stretch held) has nothing to count: "-", never a 0.
    return {"movement": movement_label(part, parts, locale, "-"),
            "reps": "-" if part.get("timed") is True and not reps else str(reps), "score": score,
            "rom": " · ".join(f"{t[f'joint.{j}']} {r:.0f}°" for j, r in widest) or "-"}


def program_section(sessions: list[dict], t: dict, locale: str) -> str:
    """A program's results movement by movement (the latest program session's, weakest first by
    the program score's own figure, common/coach/program_results.py): repetitions, range of
    motion, score, and each movement's scores over the week before it; then the weakest movement
    and where its score went that week. Empty when no session was a program."""
    from common.program_results import to_practise, week_scores, weakest_first

    esc = html.escape
    done = [s for s in sessions if isinstance(s["summary"].get("parts"), list) and s["summary"]["parts"]]
    if not done:
        return ""
    last = done[-1]
    summary = last["summary"]
    same = [s for s in done if s["summary"].get("program") == summary.get("program")]
    title = summary.get("program_title") if isinstance(summary.get("program_title"), dict) else {}
    program = title.get(locale) or title.get("ko") or str(summary.get("program", ""))[:64]
    when = f"{_day(last['started_unix']):%Y-%m-%d %H:%M}"
    rows, columns = [], ("movement", "reps", "rom", "score", "week")
    for part in weakest_first(summary["parts"]):
        said = movement_cells(part, summary["parts"], t, locale)
        week = " · ".join("-" if v is None else f"{v:.0f}" for v in week_scores(same, part, last["started_unix"]))
        cells = zip(columns, (said["movement"], said["reps"], said["rom"], said["score"], week))
        # data-label: on a phone the web page shows each row as lines, each named by its column.
        rows.append("<tr>" + "".join(f'<td data-label="{esc(t["report.program_" + k])}">{esc(v)}</td>' for k, v in cells)
                    + "</tr>")
    head = "".join(f"<th>{esc(t['report.program_' + k])}</th>" for k in columns)
    said = [t["report.program_latest"].format(program=program, when=when)]
    worst = to_practise(summary)
    if worst is not None:
        said.append(weakest_movement(last, t, locale))
        scores = [v for v in week_scores(same, worst, last["started_unix"]) if v is not None]
        going = trend(scores)
        said.append(t["report.program_week_one"] if going is None else
                    t[f"report.program_week_{going[0]}"].format(n=len(scores), before=going[1], after=going[2]))
    words = "".join(f"<p>{esc(line)}</p>" for line in said)
    return (f'<h2>{esc(t["report.program_chart"])}</h2>{words}'
            f'<table class="program"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _chart(heading: str, key: str, figs: dict, before: str = "") -> str:
    if key not in figs:
        return ""
    return (f"<h2>{html.escape(heading)}</h2>{before}"
            f'<img alt="{html.escape(heading)}" src="data:image/png;base64,{figs[key]}">')


def render(participant: str, sessions: list[dict], alerts: list[dict], locale: str = "ko", zone=None,
           zone_name: str = "") -> str:
    """The whole page; `zone` and `zone_name` as render_body's (`silvergym report` passes the site's,
    as the web app does: the same dates in both)."""
    t = load_texts(locale)
    esc = html.escape
    title = t["report.title"].format(name=participant)
    now = dt.datetime.now(zone) if zone else dt.datetime.now()
    generated = t["report.generated"].format(when=f"{now:%Y-%m-%d %H:%M}" + (f" {zone_name}" if zone_name else ""))
    return f"""<!doctype html><html lang="{esc(locale)}"><head><meta charset="utf-8">
<title>{esc(title)}</title>
<style>body{{font-family:'NanumGothic','Nanum Gothic','Noto Sans CJK KR',sans-serif;max-width:860px;margin:2em auto;
color:#222;font-size:17px;line-height:1.6}} img{{max-width:100%}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px}} ul.reading li{{margin-bottom:0.4em}}</style></head>
<body><h1>{esc(title)}</h1>{render_body(sessions, alerts, locale, zone, zone_name)}
<p style="color:#666">{esc(generated)}</p></body></html>
"""


def render_body(sessions: list[dict], alerts: list[dict], locale: str = "ko", zone=None, zone_name: str = "") -> str:
    """The report under its title: the reading, the charts and the alerts, every value a device
    sent escaped (the web app shows it inside its own page). `zone` (a tzinfo): the site's, for
    every date and time, named by `zone_name` beside the alerts' times."""
    # Seen, but not measurable from the front: no score, but the carers read why and what helps.
    side_view = sum(1 for s in sessions if seen_not_measured(s))
    sessions = [s for s in sessions if exercised(s)]  # a 0 from nobody moving is no score to show
    # A session the box read too sparsely has no score to show either; said once above the rest.
    sparse = sum(1 for s in sessions if read_too_sparsely(s))
    sessions = [s for s in sessions if not read_too_sparsely(s)]
    token = _ZONE.set(zone)
    try:
        body = _render_body(sessions, alerts, locale, zone_name)
    finally:
        _ZONE.reset(token)
    if sparse:
        body = f'<p class="too-few-poses">{html.escape(load_texts(locale)["report.too_few_poses"].format(n=sparse))}</p>' + body
    if side_view:
        body = (f'<p class="seen-not-measured">{html.escape(load_texts(locale)["report.seen_not_measured"].format(n=side_view))}'
                '</p>' + body)
    return body


def _what_happened(alert: dict, t: dict) -> str:
    """The alert's words, and why and when the carer was called (nobody answered, a hard fall)."""
    what = t.get("report.what." + str(alert["kind"]), alert.get("detail", ""))
    answer = alert.get("answer")
    if isinstance(answer, str) and f"report.answer.{answer}" in t:
        what += " · " + t[f"report.answer.{answer}"].format(called=f"{_day(alert['unix']):%H:%M}")
    return what


def alerts_section(alerts: list[dict], locale: str = "ko", zone=None, zone_name: str = "") -> str:
    """The report's table of alerts alone (the web app's page of a class spot, which has no
    report of its own), every value escaped."""
    token = _ZONE.set(zone)
    try:
        return _alerts_table(alerts, load_texts(locale), zone_name)
    finally:
        _ZONE.reset(token)


def _alerts_table(alerts: list[dict], t: dict, zone_name: str) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr><td style=\"white-space:nowrap\">{_day(fell_unix(a)):%Y-%m-%d %H:%M}</td>"
        f"<td style=\"white-space:nowrap\">{esc(t.get('report.kind.' + str(a['kind']), str(a['kind'])))}"
        f"</td><td>{esc(_what_happened(a, t))}</td></tr>"
        for a in alerts) or f"<tr><td colspan=3>{esc(t['report.no_alerts'])}</td></tr>"
    alerts_table = f"""
<h2>{esc(t['report.alerts'])}</h2><table><tr><th>{esc(t['report.alert_time'])}{esc(f" ({zone_name})" if zone_name else "")}</th><th>{esc(t['report.alert_kind'])}</th>
<th>{esc(t['report.alert_what'])}</th></tr>{rows}</table>"""
    return alerts_table


def _render_body(sessions: list[dict], alerts: list[dict], locale: str, zone_name: str) -> str:
    t = load_texts(locale)
    esc = html.escape
    # The alerts are shown with or without sessions: a fall is news to a family who never saw a session.
    alerts_table = _alerts_table(alerts, t, zone_name)
    if not sessions:
        body = f"<p>{esc(t['report.no_sessions'])}</p>" + (alerts_table if alerts else "")
    else:
        figs = plots(sessions, t)
        last = sessions[-1]["summary"]
        first_day, last_day = _day(sessions[0]["started_unix"]), _day(sessions[-1]["started_unix"])
        avg = sum(s["summary"]["score"] for s in sessions) / len(sessions)
        period = t["report.period_one" if len(sessions) == 1 else "report.period"].format(
            n=len(sessions), first=f"{first_day:%Y-%m-%d}", last=f"{last_day:%Y-%m-%d}", avg=avg, latest=last["score"])
        said = "".join(f"<li>{esc(line)}</li>" for line in reading(sessions, alerts, t))
        reps = _chart(t["report.reps_chart"], "reps", figs) or \
            f"<h2>{esc(t['report.reps_chart'])}</h2><p>{esc(t['report.no_reps'])}</p>"
        body = f"""
<p>{esc(period)}</p>
<h2>{esc(t['report.reading'])}</h2><ul class="reading">{said}</ul>
{program_section(sessions, t, locale)}
{_chart(t['report.score_chart'], 'score', figs)}
{_chart(t['report.joints_chart'], 'joints', figs)}
{_chart(t['report.rom_chart'], 'rom', figs)}
{reps}{_timeline_section(last, figs, t)}
{_tempo_section(last, figs, t)}{alerts_table}"""
    return body


def falls_of_session(session: dict, stored_alerts: list[dict]) -> int:
    """The falls of one session: those its summary lists, and those stored on their own with its
    session id (a fall question still open when the session ended is answered after the summary
    was sent), each counted once (the summary keeps the stored alert's time)."""
    times = {round(a["unix"], 3) for a in session.get("summary", {}).get("alerts", [])
             if isinstance(a, dict) and a.get("kind") == "fall" and isinstance(a.get("unix"), (int, float))}
    untimed = sum(1 for a in session.get("summary", {}).get("alerts", [])
                  if isinstance(a, dict) and a.get("kind") == "fall" and not isinstance(a.get("unix"), (int, float)))
    times |= {round(a["unix"], 3) for a in stored_alerts if a.get("kind") == "fall"
              and a.get("session_id") == session.get("session_id") and isinstance(a.get("unix"), (int, float))}
    return len(times) + untimed


def render_class(members: list[tuple], locale: str = "ko", alerts: list[dict] | None = None, zone=None,
                 zone_name: str = "") -> str:
    """One class (group mode) on a page: who took part and each one's result, in the order they
    stood (spot), never ranked. `members`: (site, device, session) of the class's sessions;
    `alerts`: the stored alerts of its members (their falls are counted with each session's own).
    `zone`, `zone_name`: the site's clock, named, as render's."""
    token = _ZONE.set(zone)
    try:
        return _render_class(members, locale, alerts, zone_name)
    finally:
        _ZONE.reset(token)


SPOT_KEY = re.compile(r"spot-([0-9]{1,2})")  # services/scoring.py: a spot not on the roster is "spot-<n>"


def anonymous_spot(session: dict) -> int:
    """The spot of a class member known by their place alone (not on the roster, no name sent):
    a place in one class, not a person (the spot-1 of next week's class may be someone else); 0
    for anyone known by a roster key or a name."""
    spot, name = session.get("spot"), session.get("participant_name")
    if not isinstance(spot, int) or isinstance(spot, bool) or spot < 1 or (isinstance(name, str) and name.strip()):
        return 0
    return spot if session.get("participant") == f"spot-{spot}" else 0


def spot_key(key: str) -> int:
    """The spot a participant key names when it is the scoring service's "spot-<n>", else 0."""
    found = SPOT_KEY.fullmatch(key) if isinstance(key, str) else None
    return int(found.group(1)) if found and int(found.group(1)) >= 1 else 0


def member_name(session: dict, t: dict) -> str:
    """How a class member is called on a page: the name the device sent (the roster's person,
    김영희), else their roster key, else their place ("1번 자리"), never "spot-1" as if a person."""
    from common.central.collector import printable

    spot = anonymous_spot(session)
    if spot:
        return t["report.class_unnamed"].format(spot=spot)
    name = session.get("participant_name")
    return printable(name.strip() if isinstance(name, str) and name.strip() else session.get("participant", ""), 80)


@functools.lru_cache(maxsize=64)
def _bundled_title(routine: str) -> tuple:
    """The bundled routine's title ((locale, words), ...): the central side runs the same package
    as the boxes, so it knows the routines they ship; () for a routine built on a box."""
    import json
    from importlib import resources

    if not re.fullmatch(r"[a-z0-9_]{1,64}", routine):
        return ()
    try:
        text = resources.files("common.coach").joinpath("routines").joinpath(f"{routine}.json").read_text(encoding="utf-8")
        title = json.loads(text).get("title")
    except (OSError, ValueError):
        return ()
    return tuple((k, v) for k, v in title.items() if isinstance(v, str)) if isinstance(title, dict) else ()


def routine_title(session: dict, locale: str) -> str:
    """The routine (or program) a session went through, by its title in the page's language, as
    the TV shows it ("팔 들어올리기", not the key arm_raise); the key when nobody here knows its title
    (a routine built on the box)."""
    from common.central.collector import printable

    summary = session.get("summary") if isinstance(session.get("summary"), dict) else {}
    title = summary.get("program_title")
    if not isinstance(title, dict):
        routine = summary.get("routine") if isinstance(summary.get("routine"), str) else session.get("routine", "")
        title = dict(_bundled_title(str(routine))) or dict(_bundled_title(str(session.get("routine", ""))))
    said = title.get(locale) or title.get("ko") if isinstance(title, dict) else None
    return printable(said if isinstance(said, str) and said else str(session.get("routine", "")), 80)


def practise_words(session: dict, locale: str) -> str:
    """What a member is to practise, in the words the TV's summary said it (the weakest joint's
    correction when below the bar: common/coach/cues.py to_practise); "" when nothing is."""
    from common.central.collector import printable
    from common.program_results import joint_to_practise

    summary = session.get("summary") if isinstance(session.get("summary"), dict) else {}
    if not exercised(session):
        return ""
    key = joint_to_practise(summary)
    if not key:
        return ""
    # In the words the box said it (the summary's corrections); the central side imports no
    # coaching code (tests/test_layout.py), so a summary without them names no words.
    said = next((c.get(locale) for c in summary.get("corrections", []) if isinstance(c, dict)
                 and c.get("key") == key and isinstance(c.get(locale), str)), None)
    return printable(said, 120) if said else ""


def class_rows(members: list[tuple], t: dict, locale: str, alerts: list[dict] | None = None) -> list[dict]:
    """Each member of a class (site, device, session) in the order they stood: spot, name, score
    ("-" for one who did not go through the movement), repetitions, what to practise, share of the
    time partly in view, falls; a program's member also each movement (movements: movement_cells and
    whether it is the one to practise). Shared by `report --class` and the web app's class page."""
    from common.program_results import movement_label, to_practise

    out = []
    for site, device, s in sorted(members, key=lambda m: (m[2].get("spot") or 0, str(m[2].get("participant", "")))):
        summary = s.get("summary") if isinstance(s.get("summary"), dict) else {}
        spot = s.get("spot") if isinstance(s.get("spot"), int) else 0
        partly = (summary.get("framing") or {}).get("partly_in_view") if isinstance(summary.get("framing"), dict) else None
        reps = summary.get("reps")
        # A program: the member's movements in program order (as the TV's class summary lists them),
        # the one to practise (program_results.to_practise, the one-person bar) named and marked.
        parts = [p for p in summary["parts"] if isinstance(p, dict)] if isinstance(summary.get("parts"), list) else []
        worst = to_practise(summary) if parts else None
        movements = [{**movement_cells(p, summary["parts"], t, locale), "practise": p is worst} for p in parts]
        out.append({"site": site, "device": device, "session": s, "spot": spot, "movements": movements,
                    "spot_name": t["report.class_spot_name"].format(spot=spot) if spot else "-",
                    "who": member_name(s, t), "named": not anonymous_spot(s),
                    "score": "-" if not exercised(s) or read_too_sparsely(s)
                    or not isinstance(summary.get("score"), (int, float))
                    else f"{summary['score']:.0f}",
                    "reps": reps if isinstance(reps, int) and not isinstance(reps, bool) else 0,
                    "practise": (movement_label(worst, summary["parts"], locale, "-") if worst is not None else "-") if parts
                    else practise_words(s, locale) or "-",
                    "partly": f"{partly:.0%}" if isinstance(partly, (int, float)) and math.isfinite(partly) else "-",
                    "falls": falls_of_session(s, alerts or [])})
    return out


def _render_class(members: list[tuple], locale: str, alerts: list[dict] | None, zone_name: str) -> str:
    t = load_texts(locale)
    esc = html.escape
    rows = class_rows(members, t, locale, alerts)
    site, device, first = rows[0]["site"], rows[0]["device"], rows[0]["session"]
    cells = ("spot_name", "who", "score", "reps", "partly", "falls", "practise")

    def movement_rows(r: dict) -> str:
        """Under a program member's row, a row per movement: its name, score and repetitions in the
        member's columns; the one to practise in bold (and named in the member's practise cell)."""
        def one(m: dict) -> str:
            bold = ' style="font-weight:bold"' if m["practise"] else ""
            return (f'<tr class="movement"{bold}><td></td><td style="padding-left:1.5em">{esc(m["movement"])}</td>'
                    f'<td>{esc(m["score"])}</td><td>{esc(m["reps"])}</td><td></td><td></td><td></td></tr>')
        return "".join(one(m) for m in r["movements"])

    program = f"<p>{esc(t['report.class_program'])}</p>" if any(r["movements"] for r in rows) else ""
    body = "".join("<tr>" + "".join(f"<td>{esc(str(r[k]))}</td>" for k in cells) + "</tr>" + movement_rows(r) for r in rows)
    when = (f"{_day(first['started_unix']):%Y-%m-%d %H:%M}" + (f" {zone_name}" if zone_name else "")
            if on_calendar(first.get("started_unix")) else "?")
    title = t["report.class_title"].format(when=when)
    said = t["report.class_where"].format(where=f"{site}/{device}", routine=routine_title(first, locale), n=len(rows))
    head = "".join(f"<th>{esc(t['report.class_' + k])}</th>"
                   for k in ("spot", "who", "score", "reps", "partly", "falls", "practise"))
    now = dt.datetime.now(_ZONE.get()) if _ZONE.get() else dt.datetime.now()
    generated = t["report.generated"].format(when=f"{now:%Y-%m-%d %H:%M}" + (f" {zone_name}" if zone_name else ""))
    return f"""<!doctype html><html lang="{esc(locale)}"><head><meta charset="utf-8">
<title>{esc(title)}</title>
<style>body{{font-family:'NanumGothic','Nanum Gothic','Noto Sans CJK KR',sans-serif;max-width:960px;margin:2em auto;
color:#222;font-size:17px;line-height:1.6}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px 12px}}
td:nth-child(n+3):nth-child(-n+6){{text-align:right}}</style></head>
<body><h1>{esc(title)}</h1><p>{esc(said)}</p>{program}<table><tr>{head}</tr>{body}</table>
<p style="color:#666">{esc(generated)}</p></body></html>
"""


def safe_file_name(name: str) -> str:
    """A participant's name as part of a file name in the current folder: letters (Hangul
    included), digits, '-' and '_' kept; anything else (a '/', '..', a newline) becomes '_'."""
    kept = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:80].strip("_")
    return kept or "participant"


def run(args) -> int:
    os.umask(0o077)  # a report holds a person's health: readable by whoever runs it, nobody else

    from common.central.collector import printable
    from common.config import load

    full = load(args.config, args.overrides)
    cfg = full.collector
    db = args.db or cfg.db
    if bool(args.participant) == bool(args.class_id):
        print("error: give a participant, or --class ID (a class's id or its first 8 characters (4 at least), or 'latest'), "
              "not both", file=sys.stderr)
        return 2
    if args.class_id:
        return run_class(args, db, full.web)
    out = Path(args.output or f"report-{safe_file_name(args.participant)}.html")
    problem = _input_problem(db, out)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    def read(store):
        places = store.places_of(args.participant, args.site or None, args.device or None)
        site, device = places[0] if len(places) == 1 else (None, None)
        sessions = store.sessions_of(args.participant, site, device) if len(places) == 1 else []
        alerts = store.alerts_of(args.participant, site, device) if len(places) == 1 else []
        return places, site, device, sessions, alerts, store.participants() if not places else []

    got, problem = _from_store(db, read)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    places, site, device, sessions, alerts, known = got
    where = "".join(f" at {what} {printable(value, 64)!r}" for what, value in (("site", args.site), ("device", args.device))
                    if value)
    if not places:
        print(f"error: no sessions stored for {printable(args.participant, 80)!r}{where}; the participants stored are: "
              f"{', '.join(printable(k, 80) for k in known[:50]) if known else 'none yet'}", file=sys.stderr)
        return 2
    if len(places) > 1:
        # Two centres may both have a "kim": one report never mixes them.
        listed = ", ".join(f"--site {printable(s, 64)} --device {printable(d, 64)}" for s, d in places[:10])
        print(f"error: {printable(args.participant, 80)!r} is stored at {len(places)} places; say which: {listed}",
              file=sys.stderr)
        return 2
    if spot_key(args.participant) and all(anonymous_spot(s) for s in sessions):
        # A class's spot not on the roster is whoever stood there: one report would draw a trend
        # across different people.
        held = list(dict.fromkeys(str(s.get("class_id", ""))[:8] for s in reversed(sessions)))[:5]
        print(f"error: {printable(args.participant, 80)!r} is a spot in a class, not a person (each class, "
              f"someone else may stand there): give a class, `report --class ID` (its newest: {', '.join(held)}), "
              "or put the person on the box's roster (scoring.roster) to follow them", file=sys.stderr)
        return 2
    usable = [s for s in sessions if plottable(s)]
    if len(usable) < len(sessions):
        print(f"note: left out {len(sessions) - len(usable)} stored session(s) with values no report can show "
              "(stored before the collector checked them)", file=sys.stderr)
    if side_view := [s for s in usable if seen_not_measured(s)]:
        print(f"note: left out {len(side_view)} session(s) in which the movement was seen but its depth cannot be measured "
              "from the front (seen_not_measured; no score): the person is to stand side on to the camera",
              file=sys.stderr)
    idle = [s for s in usable if not exercised(s) and not seen_not_measured(s)]
    if idle:
        print(f"note: left out {len(idle)} session(s) in which nobody went through the movement (no score)",
              file=sys.stderr)
    usable = [s for s in usable if exercised(s)]
    sparse = [s for s in usable if read_too_sparsely(s)]
    if sparse:
        print(f"note: left out {len(sparse)} session(s) the box read too sparsely to score (too_few_poses: "
              "coaching needs about 15 readings a second): run `silvergym doctor` on the box, use the Coral or a "
              "smaller camera resolution", file=sys.stderr)
        usable = [s for s in usable if not read_too_sparsely(s)]
    fell = [s for s in usable if not counts_in_scores(s)]
    if fell:
        print(f"note: left out {len(fell)} session(s) a fall cut short (no score; the falls are listed under the "
              "alerts)", file=sys.stderr)
        usable = [s for s in usable if counts_in_scores(s)]
    # The name the device's config gives the person (participant_name, sent with each session and
    # alert: 김영희), as the web app titles the page; the key and its place only when none was sent.
    named = next((p["participant_name"].strip() for p in [*reversed(sessions), *reversed(alerts)]
                  if isinstance(p.get("participant_name"), str) and p["participant_name"].strip()), "")
    title = printable(named, 80) if named else f"{args.participant} ({site}/{device})"
    # The site's clock, named, as the web app's pages (web.site_time_zones, else web.time_zone): a
    # report printed on a laptop in another zone shows the same dates as the page.
    from common.central import sitetime
    zone = sitetime.SiteZones.of(full.web).zone_of(site)
    # The sessions seen but not measurable go to the page too: left out of its scores there, said in words.
    page = render(title, usable + side_view, [a for a in alerts if on_calendar(a.get("unix"))], args.locale, zone,
                  sitetime.zone_name(zone, args.locale))
    write_atomically(out, page)  # a failure leaves the previous report, never an empty file
    print(f"wrote {out}: {len(usable)} sessions, {len(alerts)} alerts", file=sys.stderr)
    return 0


def run_class(args, db: str, web=None) -> int:
    """`silvergym report --class ID`: the class summary page."""
    import re

    from common.central.collector import printable

    class_id = args.class_id.lower()
    if class_id != "latest" and not re.fullmatch(r"[0-9a-f]{4,64}", class_id):
        print(f"error: {printable(args.class_id, 80)!r} is not a class id: give the hex id the device logs "
              "('class 3f2a9c1e... started': the whole id or its first 8 characters (4 at least)) or 'latest'",
              file=sys.stderr)
        return 2
    out = Path(args.output or f"class-{class_id[:8]}.html")
    problem = _input_problem(db, out)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    def class_and_alerts(store) -> tuple[list, list[dict]]:
        found = store.class_sessions(class_id, args.site or None, args.device or None)
        people = {(s.get("participant", ""), site, device) for site, device, s in found}
        return found, [a for who in sorted(people) for a in store.alerts_of(*who)]
    read, problem = _from_store(db, class_and_alerts)
    members, alerts = read if read else ([], [])
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    classes = sorted({(s.get("class_id"), site, device) for site, device, s in members})
    if not classes:
        print(f"error: no class {printable(args.class_id, 80)!r} is stored; classes are stored from boxes in group "
              "mode (scoring.mode = \"group\")", file=sys.stderr)
        return 2
    if len(classes) > 1:  # a short prefix two classes share, or one id at two boxes
        listed = ", ".join(f"{c[:12]} ({site}/{device})" for c, site, device in classes[:10])
        print(f"error: {printable(args.class_id, 80)!r} matches {len(classes)} classes: {listed}; give more of the id "
              "(or --site and --device)", file=sys.stderr)
        return 2
    from common.central import sitetime
    zone = sitetime.SiteZones.of(web).zone_of(classes[0][1]) if web is not None else None
    page = render_class(members, args.locale, alerts, zone, sitetime.zone_name(zone, args.locale) if zone else "")
    write_atomically(out, page)
    print(f"wrote {out}: class {classes[0][0]}, {len(members)} participant{'' if len(members) == 1 else 's'}",
          file=sys.stderr)
    return 0


def _from_store(db: str, read):
    """(read(store), "") on the collector's store, or (None, one line saying why it cannot be read)."""
    import sqlite3

    from common.central.collector import Store, printable, safe_dsn

    try:
        store = Store(db)
        try:
            return read(store), ""
        finally:
            store.close()
    except (sqlite3.DatabaseError, OSError) as exc:
        return None, f"cannot read the database {safe_dsn(db)}: {exc}; give the collector's database (--db)"
    except Exception as exc:  # noqa: BLE001 - psycopg's errors, when PostgreSQL is not reachable
        return None, f"cannot reach the database {safe_dsn(db)}: {printable(exc)}; check that PostgreSQL runs"


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


# How a session ended when it ran its course (common/coach/session.py COMPLETED, VIDEO_ENDED), and
# when a fall cut it short (FALL_CUT_SHORT): the words the service writes, kept here so reading a
# record loads none of the coaching code (tests/test_falls_real.py checks that they agree).
RAN_ITS_COURSE = ("completed", "video ended")
FALL_CUT_SHORT = "fall"


def cut_short_by_a_fall(session: dict) -> bool:
    """Whether a fall cut a stored session short, as its record says: it ended FALL_CUT_SHORT (the
    person still down after a fall called in it). Records from before that reason say summary.fell
    for any fall in the session: those count as cut short unless they ended having run their course
    (a fresh-eyes trial's program: a false alarm in part 4, all 7 parts scored, "video ended":
    the report left the whole session out)."""
    summary = session.get("summary")
    if not isinstance(summary, dict):
        return False
    if summary.get("ended") == FALL_CUT_SHORT:
        return True
    return summary.get("fell") is True and summary.get("ended") not in RAN_ITS_COURSE


def counts_in_scores(session: dict) -> bool:
    """Whether a stored session's score belongs in scores, trends and charts: it was exercise
    (`exercised`) and no fall cut it short (cut_short_by_a_fall: its number measures the fall; the
    fall itself is listed with the alerts)."""
    return exercised(session) and not cut_short_by_a_fall(session) and not read_too_sparsely(session)


def read_too_sparsely(session: dict) -> bool:
    """Whether the box read the person too sparsely for the session's score and count to mean
    anything (summary.too_few_poses: a loaded box reads fewer pictures; common/coach/session.py
    PoseReadings). Its number is the box's, not the person's: out of scores, trends and charts."""
    summary = session.get("summary")
    return isinstance(summary, dict) and summary.get("too_few_poses") is True


def exercised(session: dict) -> bool:
    """Whether a stored session holds exercise: one marked exercised false (nobody went through
    the movement: someone standing in view, a start by mistake) has a 0 that is no score, so the
    report and the carers' pages leave it out of scores, trends and charts. Sessions stored
    before the field count as exercised. Nor does one whose movement was seen where the model cannot
    measure it (seen_not_measured: a squat from the front read by a 2D model), whatever its
    `exercised` (stored before that followed the field, it said true with a score of 0)."""
    summary = session.get("summary")
    return not isinstance(summary, dict) or (summary.get("exercised", True) is not False
                                             and not summary.get("seen_not_measured"))


def seen_not_measured(session: dict) -> bool:
    """Whether a stored session's movement was seen but not measurable from the front (the person
    is to stand side on): left out of scores, and said in words."""
    summary = session.get("summary")
    return isinstance(summary, dict) and bool(summary.get("seen_not_measured"))


def plottable(session: dict) -> bool:
    """A stored session whose numbers a chart can take (rows stored before payloads were bounded
    may hold NaN, infinities or times far outside any calendar)."""
    summary = session.get("summary")
    if not isinstance(summary, dict) or not on_calendar(session.get("started_unix")):
        return False
    numbers = [summary.get("score"), summary.get("reps"), *summary.get("joints", {}).values(),
               *(v.get("range") for v in summary.get("range_of_motion", {}).values() if isinstance(v, dict))]
    return all(isinstance(n, (int, float)) and math.isfinite(n) and abs(n) < 1e6 for n in numbers if n is not None)
