"""Headless (SDL dummy driver) rendering of every screen, checked on pixels."""
from __future__ import annotations

import time

import numpy as np
import pygame
import pytest

from common.coach.keypoints import COMMON_INDEX, flip_x, to_common
from services.renderer.samples import SCREENS, state_for
from services.renderer.screen import STATUS_COLORS, draw, fit, which_screen
from services.renderer.text import Fonts, draws_hangul, find_font, load_texts

SIZE = (1280, 720)


@pytest.fixture(scope="module")
def canvas():
    pygame.display.init()
    pygame.font.init()
    surface = pygame.Surface(SIZE)
    yield surface, Fonts(find_font(), SIZE[1])
    pygame.quit()


@pytest.mark.parametrize("locale", ["ko", "en"])
@pytest.mark.parametrize("screen", SCREENS)
def test_every_screen_renders(canvas, screen, locale):
    surface, fonts = canvas
    now = time.monotonic()
    state = state_for(screen, locale, now)
    assert draw(surface, fonts, state, now) == screen
    pixels = pygame.surfarray.array3d(surface)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10, "the screen is (nearly) blank"


def color_near(surface, xy, color, radius=3, tol=40) -> bool:
    x, y = xy
    arr = pygame.surfarray.array3d(surface)[x - radius:x + radius + 1, y - radius:y + radius + 1]
    return bool((np.abs(arr.astype(int) - color).sum(axis=2) < tol).any())


def test_a_wrong_joint_is_red_and_a_correct_one_green(canvas):
    surface, fonts = canvas
    now = time.monotonic()
    state = state_for("exercise", "ko", now)
    draw(surface, fonts, state, now)
    # Where the renderer puts the mirrored picture on the right half.
    w, h = SIZE
    box = pygame.Rect(w // 2 + 15, int(fonts.unit * 3.6), w // 2 - 45, h - int(fonts.unit * 7.6))
    scale, ox, oy = fit(state.frame.width, state.frame.height, box)
    common = flip_x(to_common("coco17", state.pose.keypoints), state.pose.width)

    def on_screen(name):
        p = common[COMMON_INDEX[name]]
        return int(ox + p[0] * scale), int(oy + p[1] * scale)
    assert state.score.joint_status["left_shoulder"] == "wrong"
    assert color_near(surface, on_screen("left_shoulder"), STATUS_COLORS["wrong"])
    assert not color_near(surface, on_screen("left_shoulder"), STATUS_COLORS["correct"])
    assert color_near(surface, on_screen("right_shoulder"), STATUS_COLORS["correct"])
    assert color_near(surface, on_screen("left_elbow"), STATUS_COLORS["near"])
    # Mirrored like a mirror: the person's left shoulder is on the viewer's left of their right one.
    assert on_screen("left_shoulder")[0] < on_screen("right_shoulder")[0]


def test_hangul_is_not_tofu(canvas):
    _, fonts = canvas
    assert draws_hangul(fonts.path)
    font = fonts.get(1.0)
    texts = load_texts("ko")
    rendered = pygame.surfarray.array2d(font.render(texts["exercise.instructor"], False, (255, 255, 255)))
    tofu = pygame.surfarray.array2d(font.render("\uffff" * len(texts["exercise.instructor"]), False, (255, 255, 255)))
    assert rendered.shape != tofu.shape or (rendered != tofu).any()


def test_a_font_without_hangul_is_refused_with_the_fix(tmp_path):
    from services.renderer.text import FontError

    latin = pygame.font.match_font("dejavusans")
    if not latin:
        pytest.skip("no DejaVu Sans on this machine to stand for a font without Hangul")
    with pytest.raises(FontError, match="fonts-nanum"):
        find_font(latin)


def test_screen_choice_follows_what_arrives():
    now = 1000.0
    s = state_for("exercise", "ko", now)
    assert which_screen(s, now) == "exercise"
    assert which_screen(s, now + 2.5) == "looking"  # frames still come, the person has gone
    assert which_screen(s, now + 3.5) == "camera_lost"  # no frame for 3.5 s
    s.frame_at = now + 3.5
    assert which_screen(s, now + 3.5) == "looking"
    s.alert, s.alert_at = state_for("alert", "ko", now).alert, now + 3.5
    assert which_screen(s, now + 3.5) == "alert"


def test_instructor_uses_recorded_keypoints_when_the_routine_has_them(canvas, tmp_path):
    import json

    from common.cli.routine import build
    from common.coach import routine as routines
    from common.coach.synthetic import common_pose
    from services.renderer.screen import reference_pose

    poses = [common_pose({"left_shoulder": 20 + 7 * i, "right_shoulder": 20 + 7 * i}) for i in range(20)]
    r = build("arms", poses, [None] * 20, 10.0, "synthetic")
    path = tmp_path / "arms.json"
    path.write_text(json.dumps(routines.to_json(r)))
    loaded = routines.load(str(path))
    early, late = reference_pose(loaded, 0.05), reference_pose(loaded, 1.85)
    wrist = 9  # left_wrist in the common skeleton
    assert early is not None and late[wrist, 1] < early[wrist, 1]  # the arm rises over time
    surface, fonts = canvas
    now = time.monotonic()
    state = state_for("exercise", "ko", now)
    state.routine = loaded
    assert draw(surface, fonts, state, now) == "exercise"


def test_remote_keys_become_commands():
    from services.renderer import keys

    pygame.display.init()
    state = state_for("start", "ko", 0.0)
    state.participant = "guest"
    pygame.event.clear()
    for key in (pygame.K_RIGHT, pygame.K_RETURN):
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))
    commands = keys(pygame, state, ["guest", "kim", "lee"])
    assert commands == [{"command": "participant", "participant": "kim"}, {"command": "start"}]
    running = state_for("exercise", "ko", 0.0)
    for key in (pygame.K_SPACE, pygame.K_SPACE, pygame.K_s):
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))
    assert [c["command"] for c in keys(pygame, running, ["guest"])] == ["pause", "resume", "stop"]


def test_voice_is_calm_not_chatty(monkeypatch):
    import shutil

    from services.renderer.voice import Voice

    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed (make test installs it)")
    voice = Voice(True, "ko", 0)  # volume 0: nothing audible during the tests
    assert voice.say("팔을 더 올리세요") is True
    assert voice.say("팔을 더 올리세요") is False  # the same line again right away: stays quiet
    assert voice.say("넘어짐이 감지되었습니다", urgent=True) is True
    voice.close()
