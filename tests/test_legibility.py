"""[people] Every word on every TV screen reads from a sofa 3 m away, measured on the drawn pixels.

The rule (services/renderer/screen.py): text is at least BODY = 1/20 of the screen's height,
sits on a solid backing with WCAG contrast >= 4.5:1, stays inside the screen, never overlaps
other text and never crosses the two panels of the exercise screens. Each screen is drawn from
its sample state (the ones in docs/screens) at 720p and 1080p, in Korean and English, and for the
start and exercise screens with every bundled routine's title and description.
"""
from __future__ import annotations

import time

import numpy as np
import pygame
import pytest

from common.coach import routine as routines
from services.renderer.samples import SCREENS, state_for
from services.renderer.screen import BODY, draw, exercise_panels
from services.renderer.text import Fonts, find_font

MIN_CONTRAST = 4.5  # WCAG 2 AA for body text


def luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour (0-255 per channel)."""
    c = np.asarray(rgb, float) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(lin @ [0.2126, 0.7152, 0.0722])


def contrast(a, b) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_is_wcags():
    assert contrast((255, 255, 255), (0, 0, 0)) == pytest.approx(21.0)
    assert contrast((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)  # WCAG's AA grey


def problems_on(surface, fonts, state, now: float) -> tuple[str, list[str], list]:
    """Draw the state; return the screen, what breaks the rule, and the texts drawn."""
    w, h = surface.get_size()
    fonts.drawn = []
    screen = draw(surface, fonts, state, now)
    drawn, fonts.drawn = fonts.drawn, None
    pixels = pygame.surfarray.array3d(surface).transpose(1, 0, 2)  # [y, x, rgb]
    whole = surface.get_rect()
    panels = exercise_panels(w, h) if screen in ("exercise", "countdown", "looking") else ()
    problems = []
    for d in drawn:
        name = f"{d.words!r}"
        if d.px < h * BODY - 0.5:
            problems.append(f"{name}: {d.px} px, under 1/20 of {h}")
        if not whole.contains(d.box):
            problems.append(f"{name}: runs off the screen ({d.box})")
            continue
        box = pixels[d.box.top:d.box.bottom, d.box.left:d.box.right]
        inside = np.zeros(box.shape[:2], bool)
        inside[d.rect.top - d.box.top:d.rect.bottom - d.box.top, d.rect.left - d.box.left:d.rect.right - d.box.left] = True
        ring = box[~inside]
        backing = tuple(int(v) for v in ring[0])
        if not (ring == backing).all():
            problems.append(f"{name}: its backing is not solid (something drawn over it)")
        words = box[inside]
        if not (words == d.color).all(axis=1).any():
            problems.append(f"{name}: its colour is not on the screen (drawn over)")
        if contrast(d.color, backing) < MIN_CONTRAST:
            problems.append(f"{name}: contrast {contrast(d.color, backing):.2f} on {backing}")
        ink_rows = np.flatnonzero((box[inside.any(axis=1)] != backing).any(axis=(1, 2)))
        ink = int(np.ptp(ink_rows)) + 1 if len(ink_rows) else 0
        if ink < 0.6 * d.px:
            problems.append(f"{name}: its letters are {ink} px tall on screen for a {d.px} px font")
        if panels and any(p.colliderect(d.box) for p in panels) and not any(p.contains(d.box) for p in panels):
            problems.append(f"{name}: drawn across a panel's edge")
    for i, a in enumerate(drawn):
        for b in drawn[i + 1:]:
            if a.box.colliderect(b.box):
                problems.append(f"{a.words!r} and {b.words!r} overlap")
    return screen, problems, drawn


@pytest.fixture(scope="module", params=[(1280, 720), (1920, 1080)], ids=["720p", "1080p"])
def tv(request):
    pygame.display.init()
    pygame.font.init()
    surface = pygame.Surface(request.param)
    yield surface, Fonts(find_font(), request.param[1])


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_every_screen_reads_from_the_sofa(tv, locale):
    surface, fonts = tv
    w, h = surface.get_size()
    smallest = []
    for name in SCREENS:
        now = time.monotonic()
        _, problems, drawn = problems_on(surface, fonts, state_for(name, locale, now), now)
        assert drawn, f"{name}: no words at all"
        assert not problems, f"{name} ({locale}, {h}p): " + "; ".join(problems)
        smallest.append(min(d.px for d in drawn))
        # The footer is hidden while all is well: no jargon (fps, model names) on the TV.
        assert not any("fps" in d.words or "CPU" in d.words for d in drawn), name
    print(f"{locale} {w}x{h}: {len(SCREENS)} screens, smallest text {min(smallest)} px "
          f"(floor {h * BODY:.0f} = 1/20 of the height)")


NO_SCORE_SCREENS = ("summary_not_exercised", "summary_fall", "summary_too_few_poses", "summary_side_view")


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_a_summary_with_no_score_says_so_in_words_the_sofa_reads(tv, locale):
    """Nobody went through the movement, a fall cut the session short, or the box read too sparsely:
    no number. A big "-" there was a few pixels of ink for a key-sized font (the rule above rejects
    it) and no sample showed it; these samples are in the set every screen is checked in, and each
    says "No score" in words instead."""
    assert set(NO_SCORE_SCREENS) <= set(SCREENS), "the no-score summaries are sample screens"
    surface, fonts = tv
    for name in NO_SCORE_SCREENS:
        now = time.monotonic()
        state = state_for(name, locale, now)
        screen, problems, drawn = problems_on(surface, fonts, state, now)
        words = [d.words for d in drawn]
        print(f"{name} ({locale}, {surface.get_height()}p): {words}")
        assert screen == "summary" and not problems, f"{name}: " + "; ".join(problems)
        assert state.t("summary.no_score") in words and "-" not in words, name
        assert f"{float(state.session.summary['score']):.0f}" not in words, f"{name}: its number is no score"
        # None of its other figures is the person's exercise either: no count, no joint's bar (the fall
        # screen showed "반복 횟수: 3" and bars of 70-80 % in green under "점수 없음").
        figures = [w for w in words if w.startswith(state.t("summary.reps")) or w in {
            state.t(f"joint.{j}") for j in state.session.summary.get("joints", {})} or w.endswith("%")]
        assert not figures, f"{name}: figures shown under no score: {figures}"


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_a_program_cut_short_by_a_fall_shows_no_score_and_says_to_rest(tv, locale):
    """A program whose session a fall cut short (summary.fell, common/coach/session.py
    cut_short_by_fall): the same "No score" and rest words as one routine's, no movement's row,
    score or praise (it showed its score and "practise the squats")."""
    from services.renderer.samples import sample_program_summary

    surface, fonts = tv
    now = time.monotonic()
    state = state_for("summary_program", locale, now)
    state.session.summary.update(sample_program_summary(), fell=True, ended="fall",
                                 alerts=[{"kind": "fall", "unix": 0.0, "answer": "no_answer"}])
    screen, problems, drawn = problems_on(surface, fonts, state, now)
    words = [d.words for d in drawn]
    print(f"program cut short by a fall ({locale}): {words}")
    assert screen == "summary" and not problems, "; ".join(problems)
    assert state.t("summary.no_score") in words
    assert any(state.t("summary.fall_called")[:12] in w for w in words), "the rest words"
    assert f"{float(state.session.summary['score']):.0f}" not in words
    assert not [w for w in words if w.endswith(state.t("exercise.reps_unit")) and w[:-len(state.t("exercise.reps_unit"))].isdigit()]


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_every_bundled_routine_fits_the_start_and_exercise_screens(canvas, locale):
    """Titles and descriptions differ in length: each routine's start screen (with a setup hint
    and two participants) and exercise screen keep to the rule."""
    surface, _ = canvas
    fonts = Fonts(find_font(), surface.get_height())
    for name in routines.bundled():
        routine = routines.load(name)
        for screen in ("start", "setup", "exercise", "start_class"):  # a class's start says more than one person's
            now = time.monotonic()
            state = state_for(screen, locale, now)
            state.routine = routine
            state.participant_names = {"guest": state.t("start.guest"), "kim": "김영희"}
            state.paused = screen == "exercise"  # the footer's longest note, with the cue line above it
            shown, problems, _ = problems_on(surface, fonts, state, now)
            assert not problems, f"{name} on {shown} ({locale}): " + "; ".join(problems)


@pytest.mark.parametrize("clip", ["squats_5reps.mp4", "dance_600.mp4"])
def test_the_rule_holds_over_a_real_person(canvas, clip):
    """The sample screens show a drawn person; here the exercise, looking-for-you and countdown
    screens show real people from ../shared/media with the default model's pose on them, every
    tenth frame: a real skeleton (hands raised out of the picture, a wide dance) must not reach
    any text either."""
    import dataclasses

    from common.bus import messages
    from common.cli.pose import open_estimator
    from common.media import read_frames
    from tests.conftest import media_file

    path = media_file(clip)  # skips, naming the clip, without ../shared/media
    surface, _ = canvas
    fonts = Fonts(find_font(), surface.get_height())
    est = open_estimator("blazepose-full")
    checked = 0
    for i, t, bgr in read_frames(str(path)):
        r = est.estimate(bgr, t)
        if i % 10 or not len(r.keypoints):
            continue
        h, w = bgr.shape[:2]
        for screen in ("exercise", "looking", "countdown"):
            now = time.monotonic()
            state = state_for(screen, "ko", now)
            state.frame = messages.Frame(seq=i + 2, t_capture_ns=0, frame_id=i, width=w, height=h, pixels=bgr)
            state.pose = dataclasses.replace(state.pose, width=w, height=h, layout=est.layout,
                                             keypoints=[[float(v) for v in k] for k in r.keypoints])
            shown, problems, _ = problems_on(surface, fonts, state, now)
            assert shown == screen and not problems, f"{clip} frame {i} on {screen}: " + "; ".join(problems)
            checked += 1
    print(f"{clip}: {checked} screens with a real person and their BlazePose skeleton keep the rule")
    assert checked >= 9


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_every_bundled_program_fits_its_screens(canvas, locale):
    """[program] Each bundled program's movement names (and a made name far longer than any) on the
    exercise screen (with what comes next), the rest screen and the start screen keep the rule:
    a long name is cut with "…" in its place, never run into the numbers beside it."""
    import dataclasses

    from common.coach import program as programs
    from services.renderer.program import PartShown, ProgramShown, load_program

    surface, _ = canvas
    fonts = Fonts(find_font(), surface.get_height())
    shown = [load_program(name) for name in programs.bundled()]
    assert all(shown), programs.bundled()
    long_name = {"ko": "양팔을 머리 위로 천천히 올렸다가 옆으로 내리며 숨쉬기", "en": "Both arms slowly overhead, then down to the sides, breathing"}
    made = shown[0]
    shown.append(ProgramShown(name="long", title=long_name, parts=tuple(
        PartShown(name=long_name, routine=p.routine, reps=999, duration_s=p.duration_s, rest_s=p.rest_s)
        for p in made.parts)))
    checked = 0
    for program in shown:
        for part in range(len(program.parts)):
            for screen in ("exercise_program", "rest", "start_program"):
                now = time.monotonic()
                state = state_for(screen, locale, now)
                state.program = program
                if state.score is not None:
                    state.score = dataclasses.replace(state.score, part=part, routine=program.parts[part].routine.name)
                state.routine = program.parts[part].routine
                seen, problems, drawn = problems_on(surface, fonts, state, now)
                assert not problems, f"{program.name} part {part} on {seen} ({locale}): " + "; ".join(problems)
                checked += 1
    print(f"{locale}: {checked} program screens keep the rule")
