"""The TV through a program (many movements in a row): which movement now, which next, where
in the program, the rest between movements, and the program's summary, movement by movement.

The program comes by name in the Session (Session.program) and is read from its file
(common/coach/program.py); where the TV is in it comes in every Score (part, resting_s, part_t_s).
The renderer keeps only what it shows of a program (ProgramShown): names, target repetitions,
lengths and each part's routine (for the instructor figure), so drawing never depends on the
file model's internals.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pygame

from common.coach.routine import Routine


@dataclass(frozen=True)
class PartShown:
    name: dict  # {"ko": ..., "en": ...}
    routine: Routine | None  # the part's routine, when it could be loaded (its figure and cues)
    reps: int | None = None  # target repetitions shown beside the count (not a stop rule)
    duration_s: float = 0.0
    rest_s: float = 10.0


@dataclass(frozen=True)
class ProgramShown:
    name: str
    title: dict
    parts: tuple[PartShown, ...]

    @property
    def duration_s(self) -> float:
        """Parts and rests, the last rest not played (as the program's own schedule)."""
        if not self.parts:
            return 0.0
        return sum(p.duration_s + p.rest_s for p in self.parts) - self.parts[-1].rest_s


def load_program(name: str) -> ProgramShown | None:
    """The program `name` as the TV shows it; None (and the TV shows the routine alone) when it
    cannot be read: scoring has refused it already and says why in its log."""
    try:
        from common.coach import program as programs

        loaded = programs.load(name)
    except Exception:  # noqa: BLE001 - the TV shows what it can; scoring's log names the problem
        return None
    parts = tuple(PartShown(name=dict(p.name), routine=p.routine, reps=p.reps,
                            duration_s=float(p.duration_s or 0.0), rest_s=float(p.rest_s)) for p in loaded.parts)
    return ProgramShown(name=loaded.name, title=dict(loaded.title), parts=parts)


def part_of(s) -> int:
    """The part on screen (0-based) from the newest Score of a program; -1 outside a program."""
    if s.program is None:
        return -1
    sc, se = s.score, s.session
    if (sc is not None and sc.program and se is not None and se.program and se.event == "start"
            and sc.session_id == se.session_id and se.part != sc.part and s.session_at > s.score_at):
        part = se.part  # the part changed after this Score (scoring announces it first): not the last part's numbers
    elif sc is not None and sc.program and (se is None or sc.session_id == se.session_id):
        part = sc.part
    elif se is not None and se.program and se.event == "start":  # before its first Score (countdown, nobody yet)
        part = se.part
    else:
        return -1
    return part if 0 <= part < len(s.program.parts) else -1


def part_name(s, index: int) -> str:
    locale = s.texts.get("_locale", "ko")
    if s.program is None or not 0 <= index < len(s.program.parts):
        return ""
    name = s.program.parts[index].name
    return name.get(locale) or name.get("ko") or name.get("en") or s.t("routine.untitled")


def program_title(s) -> str:
    locale = s.texts.get("_locale", "ko")
    return s.program.title.get(locale) or s.t("routine.untitled")


def rest_left(s, now: float) -> int:
    """Whole seconds of rest left as the TV counts them down (the Score's figure, run on by the
    clock since it came); 0 when not resting."""
    sc = s.score
    if part_of(s) < 0 or sc is None or sc.resting_s <= 0:
        return 0
    return max(0, math.ceil(sc.resting_s - max(0.0, now - s.score_at)))


def where(s, index: int) -> str:
    """"3/6": the movement's place in the program, counted from 1."""
    return f"{index + 1}/{len(s.program.parts)}"


def fitted(fonts, words: str, size: float, width: float) -> str:
    """`words` cut with "…" until they fit `width` pixels at `size` (a long movement name in a
    fixed place never runs into the numbers beside it)."""
    font = fonts.get(size)
    if font.size(words)[0] <= width:
        return words
    while words and font.size(words + "…")[0] > width:
        words = words[:-1]
    return words.rstrip() + "…"


def wrapped(fonts, words: str, size: float, width: float, most: int) -> list[str]:
    """`words` in at most `most` lines of `width`, the last cut with "…" when more would follow."""
    lines = fonts.wrap(words, size, int(width))
    if len(lines) <= most:
        return [fitted(fonts, line, size, width) for line in lines]
    return [fitted(fonts, line, size, width) for line in lines[:most - 1]] + \
        [fitted(fonts, " ".join(lines[most - 1:]), size, width)]


def draw_parts_bar(surface, s, box: pygame.Rect, index: int, progress_in_part: float) -> None:
    """One segment per movement: done ones filled, the current one as far as it has come, the
    ones to come empty; a gap between segments, so "3 of 6" can be seen without reading."""
    from services.renderer.screen import INSTRUCTOR_BLUE, PANEL

    n = max(1, len(s.program.parts))
    gap = max(2, box.h // 2)
    seg_w = (box.w - gap * (n - 1)) / n
    for i in range(n):
        seg = pygame.Rect(round(box.x + i * (seg_w + gap)), box.y, max(1, round(seg_w)), box.h)
        pygame.draw.rect(surface, PANEL, seg, border_radius=box.h // 2)
        share = 1.0 if i < index else max(0.0, min(1.0, progress_in_part)) if i == index else 0.0
        if share > 0:
            done = seg.copy()
            done.w = max(1, int(seg.w * share))
            pygame.draw.rect(surface, INSTRUCTOR_BLUE, done, border_radius=box.h // 2)


def part_progress(s, index: int) -> float:
    """How far into the current movement (0..1), from the Score's seconds into it."""
    part = s.program.parts[index]
    if s.score is None or s.score.part != index or part.duration_s <= 0:
        return 0.0
    if s.score.resting_s > 0:
        return 1.0
    return s.score.part_t_s / part.duration_s


def draw_program_top_bar(surface, fonts, s, w: int, h: int) -> None:
    """The exercise screen's top in a program: "3/6 · movement" on the left, repetitions (of
    the target, when the part has one) and the movement's score on the right, the parts bar under."""
    from services.renderer.screen import CUE, MARGIN, text

    m = round(h * MARGIN)
    index = part_of(s)
    sc = s.score
    reps_box = pygame.Rect(w - m, 0, 0, 0)
    # The numbers once this part has a Score; a class's are on each member's tag (one member's count
    # and score up here read as the class's).
    if sc is not None and sc.part == index and not s.people_scores:
        reps = f"{s.t('exercise.reps')} {sc.reps}" + (f"/{s.program.parts[index].reps}" if s.program.parts[index].reps else "")
        shown = s.program.parts[index].routine
        timed = shown is not None and shown.reps is None and not sc.reps  # a dance, a stretch: nothing to count, no "0"
        unjudged = not sc.scored or (sc.reps == 0 and sc.score == 0 and not timed)
        score = f"{s.t('exercise.score')} {'–' if unjudged else f'{sc.score:.0f}'}"
        score_box = text(surface, fonts, score, CUE, (w - m, h * 0.015), anchor="topright")
        reps_box = score_box if timed else text(surface, fonts, reps, CUE, (score_box.x - 2 * m, h * 0.015), anchor="topright")
    title = fitted(fonts, f"{where(s, index)} · {part_name(s, index)}", CUE, reps_box.x - 3 * m - 2 * m)
    text(surface, fonts, title, CUE, (m, h * 0.015))
    bar = pygame.Rect(m, round(h * 0.125), w - 2 * m, max(6, round(h * 0.016)))
    draw_parts_bar(surface, s, bar, index, part_progress(s, index))


def next_words(s, index: int) -> str:
    """What comes after movement `index`: "다음: 옆구리 늘리기", or that this is the last one."""
    if index + 1 < len(s.program.parts):
        return f"{s.t('program.next')}: {part_name(s, index + 1)}"
    return s.t("program.last")


def draw_next_label(surface, fonts, s, panel: pygame.Rect, band_y: float, pad: int, left_label: pygame.Rect) -> None:
    """What comes next, at the right of a panel's label band (HIGHLIGHT on PANEL)."""
    from services.renderer.screen import BODY, HIGHLIGHT, PANEL, text

    index = part_of(s)
    room = panel.right - 2 * pad - (left_label.right + 2 * pad)
    words = fitted(fonts, next_words(s, index), BODY, room - 2 * max(2, fonts.px(BODY) // 8))
    text(surface, fonts, words, BODY, (panel.right - 2 * pad, band_y), HIGHLIGHT, "midright", PANEL)


def draw_rest(surface, fonts, s, now: float, w: int, h: int) -> None:
    """Between movements: rest, the seconds left big, the next movement named and drawn, the
    remote's way to start it now, and where in the program (the parts bar)."""
    from services.renderer.screen import (
        BODY, CUE, HEADING, KEY, MARGIN, MUTED, PANEL, HIGHLIGHT, draw_instructor, line_width, paragraph, text,
    )

    m = round(h * MARGIN)
    index = part_of(s)
    column = pygame.Rect(round(w * 0.06), 0, round(w * 0.46), h)
    # From the bottom up: where in the program (bar and words), the remote's hint just above it;
    # from the top down: rest, the seconds left, the next movement (two lines at most).
    bar = pygame.Rect(round(w * 0.06), round(h * 0.84), round(w * 0.88), max(8, round(h * 0.02)))
    draw_parts_bar(surface, s, bar, index + 1, 0.0)
    text(surface, fonts, s.t("program.done_of").format(done=index + 1, total=len(s.program.parts)), BODY,
         (bar.x, bar.bottom + m / 2), MUTED)
    y = paragraph(surface, fonts, s.t("program.rest_title"), HEADING, column, h * 0.06)
    y = text(surface, fonts, str(rest_left(s, now)), KEY, (column.x, y + m / 2)).bottom
    coming = index + 1 if index + 1 < len(s.program.parts) else -1
    if coming >= 0:
        hint = text(surface, fonts, fitted(fonts, s.t("program.skip_rest"), BODY, column.w), BODY,
                    (column.x, bar.y - m), MUTED, anchor="bottomleft")
        y = paragraph(surface, fonts, s.t("program.next"), BODY, column, y + m / 2, MUTED)
        room = max(1, int((hint.y - y) // (fonts.get(CUE).get_linesize() + 2 * max(2, fonts.px(CUE) // 8))))
        for line in wrapped(fonts, part_name(s, coming), CUE, column.w, min(2, room)):
            y = text(surface, fonts, line, CUE, (column.x, y), HIGHLIGHT).bottom
        panel = pygame.Rect(round(w * 0.56), round(h * 0.1), round(w * 0.38), round(h * 0.62))
        pygame.draw.rect(surface, PANEL, panel, border_radius=16)
        routine = s.program.parts[coming].routine
        if routine is not None:  # the next movement as a drawn figure, at its most telling moment
            figure = dataclasses.replace(s, routine=routine, footage=None)
            draw_instructor(surface, figure, panel.inflate(-2 * m, -2 * m), telling_moment(routine), line_width(h))


def telling_moment(routine: Routine) -> float:
    """The routine moment whose pose is farthest from its first (arms up, knees bent): what a
    still figure of the movement should show."""
    start = routine.target(0.0)
    moments = [routine.duration_s * k / 16 for k in range(16)]
    return max(moments, key=lambda t: sum(abs(v - start.get(j, v)) for j, v in routine.target(t).items()))


def draw_program_summary(surface, fonts, s, w: int, h: int) -> None:
    """A program's end: its score (defined once: the mean of the judged movements' scores) and,
    per movement, weakest first, its repetitions and score as a bar, or that it was rested or
    skipped; as many rows as fit at the body size, the rest counted."""
    from common.program_results import judged, movement_label, to_practise, weakest_first
    from common.timeline import share_verdict

    from services.renderer.screen import (
        BODY, HEADING, HIGHLIGHT, KEY, MARGIN, MUTED, PANEL, STATUS_COLORS, TEXT, text,
    )

    summary = s.session.summary if s.session else {}
    locale = s.texts.get("_locale", "ko")
    in_order = summary.get("parts", [])
    parts = weakest_first(in_order)
    # The weakest movement is named to practise (and marked in the list) only when its score is
    # below the bar a single routine's summary names a joint at (program_results.PRACTISE_BELOW): the
    # demo's drawn person, doing each routine exactly (97, 98, 99), was told to practise its arm raises.
    weakest_part = to_practise(summary)
    m = round(h * MARGIN)
    text(surface, fonts, s.t("summary.title"), HEADING, (w / 2, h * 0.03), anchor="midtop")
    y = text(surface, fonts, s.t("summary.score"), BODY, (w * 0.15, h * 0.18), MUTED, anchor="midtop").bottom
    scored = [p for p in parts if judged(p)]
    score = summary.get("score")
    # A program read too sparsely (common/coach/session.py PoseReadings) never comes here: screen.py
    # gives it the one routine's "No score" screen (draw_summary), no movement's count or score.
    if scored and isinstance(score, (int, float)):  # nothing judged (all rested): no number at all, not a 0
        y = text(surface, fonts, f"{float(score):.0f}", KEY, (w * 0.15, y), anchor="midtop").bottom
    text(surface, fonts, s.t("program.judged_of").format(n=len(scored), total=len(parts)), BODY, (w * 0.15, y),
         anchor="midtop")
    row = fonts.get(BODY).get_linesize() + 2 * max(2, fonts.px(BODY) // 8) + m / 2
    top, bottom = h * 0.17, h * 0.84
    text(surface, fonts, s.t("program.parts_heading"), BODY, (w * 0.3, top), MUTED)
    y = top + row
    fits = max(1, int((bottom - y) // row))
    shown = parts if len(parts) <= fits else parts[:fits - 1]
    name_w = w * 0.29
    bar_x, bar_w = w * 0.74, w * 0.14
    for p in shown:
        words = movement_label(p, in_order, locale, s.t("routine.untitled"))
        color = HIGHLIGHT if p is weakest_part else TEXT
        text(surface, fonts, fitted(fonts, words, BODY, name_w), BODY, (w * 0.3, y), color)
        reps = p.get("reps") if isinstance(p.get("reps"), int) else 0
        # A movement rested through or skipped, or a timed one (nothing to count): no count, not a 0.
        if (judged(p) or reps) and not (p.get("timed") and not reps):
            text(surface, fonts, f"{reps}{s.t('exercise.reps_unit')}", BODY, (w * 0.72 - m, y), anchor="topright")
        if judged(p):
            share = max(0.0, min(1.0, float(p["score"]) / 100.0))
            bar = pygame.Rect(round(bar_x), round(y + row * 0.3), round(bar_w), round(row * 0.4))
            pygame.draw.rect(surface, PANEL, bar, border_radius=6)
            filled = bar.copy()
            filled.w = int(bar_w * share)
            pygame.draw.rect(surface, STATUS_COLORS[share_verdict(share)], filled, border_radius=6)
            text(surface, fonts, f"{float(p['score']):.0f}", BODY, (w - 2 * m, y), anchor="topright")
        else:
            said = ("program.skipped" if p.get("skipped") else "program.no_reps"
                    if p.get("not_scored") == "no_repetitions" else "program.rested")
            text(surface, fonts, s.t(said), BODY, (w - 2 * m, y), MUTED, anchor="topright")
        y += row
    if len(shown) < len(parts):
        text(surface, fonts, s.t("program.more").format(n=len(parts) - len(shown)), BODY, (w * 0.3, y), MUTED)
    words = closing_words(s, summary)
    text(surface, fonts, fitted(fonts, words, BODY, w * 0.9), BODY, (w / 2, h * 0.86), HIGHLIGHT, anchor="midtop")


def closing_words(s, summary: dict) -> str:
    """The kind word under a program's results, true of them: the one movement to practise, named
    once (the weakest of two or more judged ones); else the words a single routine's summary gives
    for the score (screen.summary_words), but never "끝까지 해내셨어요" (summary.good_today: saw it
    through to the end) over a movement rested or skipped, and no praise of the score when most
    were (a trial's man did 1 of 3 and was told he had seen it through): that the ones sat out can
    wait (program.sat_out); when none was judged, that nothing was done this time."""
    from common.program_results import judged, movement_label, to_practise

    locale = s.texts.get("_locale", "ko")
    in_order = summary.get("parts") if isinstance(summary.get("parts"), list) else []
    parts = [p for p in in_order if isinstance(p, dict)]
    weakest_part = to_practise(summary)
    if weakest_part is not None:
        return s.t("program.practice").format(name=movement_label(weakest_part, in_order, locale))
    score = summary.get("score")
    done = [p for p in parts if judged(p)]
    if not done or summary.get("exercised") is False or not isinstance(score, (int, float)):
        return s.t("summary.not_exercised")
    plain = "summary.great" if score >= 80 else "summary.good_today" if score >= 50 else "summary.keep_going"
    if 2 * len(done) < len(parts) or (plain == "summary.good_today" and len(done) < len(parts)):
        return s.t("program.sat_out")
    return s.t(plain)


def draw_class_program_summary(surface, fonts, s, w: int, h: int) -> None:
    """A class's end after a program: a table read from the sofa, the members in the order they
    stand as columns (by spot, never ranked: the class summary's habit), each member's program
    score on top, then a row per movement in program order with that member's repetitions and score
    (a swatch coloured by the score, as the one-person summary's bars), and each member's movement to
    practise (common/program_results.to_practise, the one-person bar) framed in the highlight colour.
    Rows as fit at the body size, the rest counted."""
    from common.program_results import judged, movement_label, to_practise
    from common.timeline import share_verdict

    from services.renderer.screen import (
        BODY, HEADING, HIGHLIGHT, MARGIN, MUTED, PANEL, STATUS_COLORS, TEXT, spot_label, text,
    )

    locale = s.texts.get("_locale", "ko")
    spots = sorted(s.people_results)
    results = {spot: s.people_results[spot] if isinstance(s.people_results[spot], dict) else {} for spot in spots}
    member_parts = {spot: r.get("parts") if isinstance(r.get("parts"), list) else [] for spot, r in results.items()}
    # The movements' names from the longest list (every member went through the same program).
    names_from = max(member_parts.values(), key=len, default=[])
    m = round(h * MARGIN)
    pad = max(2, fonts.px(BODY) // 8)
    frame = max(3, m // 4)  # the practise cell's frame, outside the words' backing
    row = fonts.get(BODY).get_linesize() + 2 * pad + 2 * frame + m / 4
    text(surface, fonts, s.t("summary.title"), HEADING, (w / 2, h * 0.03), anchor="midtop")
    left, name_w = w * 0.04, w * 0.30
    column = min(w * 0.22, (w - left - name_w - w * 0.03) / max(1, len(spots)))  # one member: no screen-wide cells
    top, bottom = h * 0.15, h * 0.86  # the bottom line (practise or the kind word) under `bottom`

    def cell(i: int) -> pygame.Rect:
        return pygame.Rect(round(left + name_w + column * i + m / 4), 0, round(column - m / 2), round(row - m / 4))

    y = top
    for i, spot in enumerate(spots):  # who: the tag each member saw over their head
        text(surface, fonts, fitted(fonts, spot_label(s, spot), BODY, column - m), BODY, (cell(i).centerx, y), anchor="midtop")
    y += row
    text(surface, fonts, fitted(fonts, s.t("summary.score"), BODY, name_w - m), BODY, (left, y), MUTED)
    for i, spot in enumerate(spots):
        r, parts = results[spot], member_parts[spot]
        idle = r.get("exercised") is False or not any(judged(p) for p in parts)
        score = r.get("score")
        said = "-" if idle or not isinstance(score, (int, float)) else f"{float(score):.0f}"
        text(surface, fonts, said, BODY, (cell(i).centerx, y), MUTED if said == "-" else TEXT, anchor="midtop")
    y += row
    fits = max(1, int((bottom - y) // row))
    practise = {spot: to_practise(results[spot]) for spot in spots}
    # Rows in program order; when they do not all fit, the movements someone is to practise first
    # (a framed cell is never the one counted away), then the earliest.
    framed = [k for k in range(len(names_from)) if any(
        k < len(member_parts[spot]) and member_parts[spot][k] is practise[spot] for spot in spots)]
    keep = len(names_from) if len(names_from) <= fits else fits - 1
    rows = sorted((framed + [k for k in range(len(names_from)) if k not in framed])[:keep])
    swatch = round(fonts.px(BODY) * 0.5)
    for k in rows:
        named = names_from[k]
        words = movement_label(named, names_from, locale, s.t("routine.untitled"))
        text(surface, fonts, fitted(fonts, words, BODY, name_w - m), BODY, (left, y + (row - m / 4) / 2), anchor="midleft")
        for i, spot in enumerate(spots):
            parts = member_parts[spot]
            p = parts[k] if k < len(parts) and isinstance(parts[k], dict) else None
            box = cell(i)
            box.y = round(y)
            pygame.draw.rect(surface, PANEL, box, border_radius=8)
            weak = p is not None and p is practise[spot]
            if weak:
                pygame.draw.rect(surface, HIGHLIGHT, box, width=frame, border_radius=8)
            box = box.inflate(-2 * frame, -2 * frame)  # the words inside the frame, never over it
            if p is None:
                text(surface, fonts, "-", BODY, box.center, MUTED, anchor="center", backing=PANEL)
                continue
            reps = p.get("reps") if isinstance(p.get("reps"), int) and not isinstance(p.get("reps"), bool) else 0
            if judged(p):
                room = box.w - swatch - 3 * pad
                # The repetitions' word ("16 reps"), or its short form where four columns leave no room.
                said = next((f"{c} {float(p['score']):.0f}" for c in (f"{reps}{s.t('exercise.reps_unit')}",
                                                                      s.t("program.cell_reps").format(n=reps))
                             if fonts.get(BODY).size(f"{c} {float(p['score']):.0f}")[0] <= room),
                            f"{s.t('program.cell_reps').format(n=reps)} {float(p['score']):.0f}")
                if p.get("timed") and not reps:  # a timed movement: nothing counted, its score only
                    said = f"{float(p['score']):.0f}"
                words_box = text(surface, fonts, fitted(fonts, said, BODY, room), BODY,
                                 (box.right - pad, box.centery), HIGHLIGHT if weak else TEXT, anchor="midright", backing=PANEL)
                dot = pygame.Rect(0, 0, swatch, swatch)
                dot.midright = (words_box.left - pad, box.centery)
                if dot.left > box.left + pad:  # the colour of the score, never over the words
                    share = max(0.0, min(1.0, float(p["score"]) / 100.0))
                    pygame.draw.rect(surface, STATUS_COLORS[share_verdict(share)], dot, border_radius=swatch // 2)
            else:  # rested through or skipped: said, not a 0
                said = s.t("program.cell_skipped" if p.get("skipped") else "program.cell_no_reps"
                           if p.get("not_scored") == "no_repetitions" else "program.cell_rested")
                text(surface, fonts, fitted(fonts, said, BODY, box.w - 2 * pad), BODY, box.center, MUTED,
                     anchor="center", backing=PANEL)
        y += row
    if len(rows) < len(names_from):
        text(surface, fonts, s.t("program.more").format(n=len(names_from) - len(rows)), BODY, (left, y), MUTED)
    # One line under the table: what the frame means when anyone has a movement to practise, else
    # the class's kind word (the single-routine class summary's); a class of one is told what one
    # person is (closing_words: not "모두", and no "to the end" over movements rested through).
    words = s.t("program.class_practise") if any(p is not None for p in practise.values()) else \
        closing_words(s, results[spots[0]]) if len(spots) == 1 else s.t("summary.class")
    text(surface, fonts, fitted(fonts, words, BODY, w * 0.92), BODY, (w / 2, h * 0.87), HIGHLIGHT, anchor="midtop")
