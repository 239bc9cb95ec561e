"""[program] A class's TV summary after a program shows, per member, the program score and each
movement's repetitions and score, and frames the movement each member should practise
(common/program_results.to_practise, the one-person bar). Drawn from the sample state
(services/renderer/samples.py summary_class_program, docs/screens), read back from what was drawn."""
from __future__ import annotations

import copy
import os
import time

import pygame
import pytest

from common.program_results import movement_label, to_practise
from services.renderer.samples import state_for
from services.renderer.screen import HIGHLIGHT, draw
from services.renderer.text import Fonts, find_font


def drawn_summary(locale: str, change=None):
    """The sample class summary after a program (changed by `change(state)` first) drawn at 720p:
    the state and every text drawn."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    pygame.display.init()
    pygame.font.init()
    surface = pygame.Surface((1280, 720))
    fonts = Fonts(find_font(), 720)
    now = time.monotonic()
    s = state_for("summary_class_program", locale, now)
    if change is not None:
        change(s)
    fonts.drawn = []
    assert draw(surface, fonts, s, now) == "summary"
    drawn, fonts.drawn = fonts.drawn, None
    return s, drawn


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_class_summary_after_a_program_shows_each_members_movements(locale):
    s, drawn = drawn_summary(locale)
    words = [d.words for d in drawn]
    assert len(s.people_results) == 4
    first = s.people_results[1]["parts"]
    for part in first:  # every movement named once, as the one-person summary names it
        assert words.count(movement_label(part, first, locale)) == 1, (movement_label(part, first, locale), words)
    framed = 0
    for spot, summary in s.people_results.items():
        assert f"{float(summary['score']):.0f}" in words
        practise = to_practise(summary)
        for part in summary["parts"]:
            if part["scored"]:
                score = f"{float(part['score']):.0f}"
                cell = [d for d in drawn if d.words.endswith(f" {score}") and d.words.startswith(str(part["reps"]))]
                assert cell, f"spot {spot}: {part['reps']} reps and {score} not drawn: {words}"
                # The movement to practise in the highlight colour, every other cell in the text colour.
                assert any((d.color == HIGHLIGHT) == (part is practise) for d in cell), (spot, part["part"])
                framed += part is practise
    print("framed cells:", framed, "(truth 3: spots 1, 3, 4; spot 2 all 90 or over)")
    assert framed == 3
    assert s.t("program.class_practise") in words


def test_a_long_programs_framed_movements_are_never_counted_away():
    """A program of 12 movements (the sample's six twice) does not fit at 720p: the rows shown keep
    every member's movement to practise (spot 3's moved to the 11th part here), the rest counted."""
    def twelve_movements(s):
        for r in s.people_results.values():
            r["parts"] = r["parts"] + [dict(p, part=p["part"] + 6) for p in copy.deepcopy(r["parts"])]
        s.people_results[3]["parts"][10]["score"] = 40.0
        s.people_results[3]["weakest_part"] = 10

    s, drawn = drawn_summary("en", twelve_movements)
    words = [d.words for d in drawn]
    parts = s.people_results[1]["parts"]
    for k in (3, 4, 10):  # spot 1's squats, spot 4's lateral raises, spot 3's second lateral raises
        assert movement_label(parts[k], parts, "en") in words, (k, words)
    print("framed:", [d.words for d in drawn if d.color == HIGHLIGHT], "truth: 4× 52, 6× 68, 8× 40 (+ the legend)")
    assert {d.words for d in drawn if d.color == HIGHLIGHT} >= {"4× 52", "6× 68", "8× 40"}
    assert any(w.endswith("more movements") for w in words)
