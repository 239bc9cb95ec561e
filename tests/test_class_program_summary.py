"""[program] A class's TV summary after a program shows, per member, the program score and each
movement's repetitions and score, and frames the movement each member should practise
(common/program_results.to_practise, the one-person bar). Drawn from the sample state
(services/renderer/samples.py summary_class_program, docs/screens), read back from what was drawn."""
from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import subprocess
import sys
import time

import pygame
import pytest

from common.program_results import movement_label, to_practise
from services.renderer.samples import member_program_summary, state_for
from services.renderer.screen import HIGHLIGHT, draw
from services.renderer.text import Fonts, find_font
from tests.conftest import REPO, media_file


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


@functools.lru_cache(maxsize=1)
def program_class_of_two_people() -> tuple:
    """The real two-people scene (../shared/media/two_people_sports2d.mp4: a man does 2 jumping
    jacks, a woman walks past) as a class through the bundled short_program (arm raises, chair
    squats, marching), by `silvergym program score --set scoring.mode=group` with the Coral's model
    on the CPU: one JSON summary per member, as scoring sends them. Read once per test run (the
    report and web tests use it too)."""
    clip = media_file("two_people_sports2d.mp4")
    out = subprocess.run([sys.executable, "-m", "common.cli", "program", "score", "short_program", "--video", str(clip),
                          "--set", "scoring.mode=group", "--json", "--model", "movenet-lightning"],
                         cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-2000:]
    members = tuple(json.loads(line) for line in out.stdout.splitlines() if line.startswith("{"))
    print("\nprogram class of two_people_sports2d.mp4 (truth: one member, the jumper; 2 jacks as arm raises, "
          "no squats, no marching):")
    for m in members:
        print(f"  spot {m['spot']}: score {m['score']}, parts (reps, score, rested): "
              f"{[(p['reps'], p['score'], p['rested']) for p in m['parts']]}")
    return members


def ended_class(members, locale: str):
    """A ScreenState of the group renderer that heard each member's session start and end as
    scoring sends them (Session messages through the renderer's own absorb), drawn at 720p."""
    from common.bus import messages
    from services.renderer import absorb

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    pygame.display.init()
    pygame.font.init()
    now = time.monotonic()
    s = state_for("exercise", locale, now)
    s.a_class, s.people, s.people_scores, s.class_running = True, {}, {}, {}
    for event in ("start", "end"):
        for m in members:
            summary = {k: v for k, v in m.items() if k not in ("spot", "name")}
            absorb(s, messages.Session(seq=m["spot"], t_capture_ns=0, session_id=f"s{m['spot']}", event=event,
                                       routine="program:short_program", participant=f"spot-{m['spot']}",
                                       started_unix=0.0, spot=m["spot"], class_id="c1", program="short_program",
                                       summary=summary if event == "end" else {}), now)
    surface = pygame.Surface((1280, 720))
    fonts = Fonts(find_font(), 720)
    fonts.drawn = []
    screen = draw(surface, fonts, s, now)
    drawn, fonts.drawn = fonts.drawn, None
    return s, screen, surface, [d.words for d in drawn]


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_a_program_class_of_one_real_member_gets_the_class_summary_with_true_closing_words(locale, tmp_path):
    """A fresh-eyes trial (run --once --video two_people_sports2d.mp4 --program short_program, group
    mode): the class's one member was shown the one-person program summary (no "1번"), closed with
    "잘하셨어요. 끝까지 해내셨어요." over 2 of 3 movements rested. The last member's end carries their
    summary with its parts, and the TV took that for one person's program. Now: the class summary
    (the member's tag, each movement's cell) and words true of 1 of 3 movements done."""
    from services.renderer.screen import spot_label
    from services.renderer.text import load_texts

    members = program_class_of_two_people()
    assert [m["spot"] for m in members] == [1], "the walker is no member"
    s, screen, surface, words = ended_class(members, locale)
    pygame.image.save(surface, str(tmp_path / f"class_of_one_{locale}.png"))
    t = load_texts(locale)
    print(f"{locale}: screen {screen}; drawn {words}\nlooked at: {tmp_path / f'class_of_one_{locale}.png'}")
    jumper = members[0]
    assert screen == "summary"
    assert spot_label(s, 1) in words, "the member's tag (1번), as the class showed it over him"
    assert [p["rested"] for p in jumper["parts"]] == [False, True, True]  # truth: no squats, no marching
    assert words.count(t["program.cell_rested"]) == 2
    arm = jumper["parts"][0]
    assert any(w.endswith(f" {float(arm['score']):.0f}") and str(arm["reps"]) in w for w in words), words
    assert t["summary.good_today"] not in words and t["summary.class"] not in words  # no "끝까지", no "모두"
    assert t["program.sat_out"] in words


def test_a_real_program_class_of_two_gets_the_class_summary_not_its_last_members():
    """The same real member twice (spots 1 and 2: a composed class, labelled so): the TV shows both
    columns, not spot 2's program alone (the end of the last member on screen has parts too)."""
    from services.renderer.text import load_texts

    jumper = program_class_of_two_people()[0]
    s, screen, _, words = ended_class((jumper, {**jumper, "spot": 2}), "ko")
    print(f"drawn: {words}")
    assert screen == "summary" and "1번" in words and "2번" in words
    assert load_texts("ko")["program.judged_of"].format(n=1, total=3) not in words  # the one-person summary's line


def test_one_persons_program_summary_says_no_to_the_end_over_rested_movements():
    """The one-person program summary picks its closing words the same way (program.closing_words):
    1 of 6 movements judged at 73 (the trial's BlazePose score; scoring names no weakest of one judged
    movement) was "잘하셨어요. 끝까지 해내셨어요." and is now that the ones sat out can wait, as is 5 of
    6 at 73 (no "to the end" over the one rested); 1 of 6 at 95 is not praised as excellent (most
    sat out); every movement judged at 95 is still the score's praise."""
    from services.renderer.text import load_texts

    t = load_texts("ko")
    pygame.display.init()
    pygame.font.init()

    def closing(results, weakest_named: bool = True) -> list[str]:
        s = state_for("summary_program", "ko", time.monotonic())
        summary = member_program_summary(results)
        if not weakest_named:
            summary["weakest_part"] = None
        s.session = dataclasses.replace(s.session, summary=summary)
        surface = pygame.Surface((1280, 720))
        fonts = Fonts(find_font(), 720)
        fonts.drawn = []
        assert draw(surface, fonts, s, time.monotonic()) == "summary"
        return [d.words for d in fonts.drawn]

    rested, done = (0, None, True, False), (2, 73.0, False, False)
    trial = closing((done,) + (rested,) * 5, weakest_named=False)
    print(f"1 of 6 judged at 73: {[w for w in trial if w in (t['summary.good_today'], t['program.sat_out'])]}")
    assert t["summary.good_today"] not in trial and t["program.sat_out"] in trial
    assert t["program.sat_out"] in closing((done,) * 5 + (rested,), weakest_named=False)
    one_well = closing(((8, 95.0, False, False),) + (rested,) * 5, weakest_named=False)
    assert t["summary.great"] not in one_well and t["program.sat_out"] in one_well
    assert t["summary.great"] in closing(((8, 95.0, False, False),) * 6)
