"""[instructor] A routine built from a video keeps the video; the TV plays it on the routine's
clock beside the participant; the session's accuracy is shown second by second (the strip, the
summary's `timeline`, the report).

Pure logic and the renderer drawing headless here; the whole graph on real clips is in
test_instructor_graph.py. The videos played here are made in the test (the project's drawn
person, written and prepared exactly as `silvergym routine build` does), so nothing here needs
../shared.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pygame
import pytest

from common.bus import messages
from common.coach import routine as routines
from common.coach.scoring import SessionScorer
from common.coach.synthetic import common_pose, write_person_clip
from common.timeline import CODES, VerdictTimeline, best_and_worst, second_code, share_verdict
from services.renderer.footage import InstructorFootage
from services.renderer.samples import state_for
from services.renderer.screen import (
    PANEL,
    PENDING,
    PanelPicture,
    draw,
    live_strip,
    routine_time,
    exercise_panels,
    picture_box,
    fit,
    strip_cell,
    strip_color,
    strip_rect,
    summary_strip_rect,
)
from tests.conftest import CANVAS_SIZE as SIZE

REPO = Path(__file__).resolve().parents[1]


# -- the timeline (pure) -----------------------------------------------------------------------
def test_a_second_takes_the_verdict_most_of_its_frames_got_and_a_tie_goes_to_the_worse():
    line = VerdictTimeline()
    for t, verdict in [(-0.5, "wrong"),  # the countdown counts nothing
                       (0.1, "correct"), (0.4, "correct"), (0.8, "near"),  # second 0: correct
                       (1.2, "correct"), (1.6, "wrong"),  # second 1: a tie, the worse wins
                       (2.5, "none"),  # second 2: nobody judged
                       (3.0, "near"), (3.9, "near"), (3.95, "wrong")]:  # second 3: near
        line.add(t, verdict)
    assert line.codes() == "cw-n"
    assert second_code([0, 0, 0]) == "-" and second_code([2, 2, 1]) == "n"


def test_the_best_and_worst_parts_are_windows_of_the_routine():
    codes = "c" * 20 + "w" * 10 + "c" * 8 + "n" * 2 + "c" * 11  # 51 s: the last scrap joins its window
    (b0, b1, best), (w0, w1, worst) = best_and_worst(codes)
    assert (b0, b1, best) == (0, 10, 1.0) and (w0, w1, worst) == (20, 30, 0.0)
    assert best_and_worst("c" * 51) is None  # every part as good as the others: none is named best or worst
    assert best_and_worst("----c") is None  # one scored window: nothing to compare
    # A fresh-eyes trial: "가장 잘한 구간 0:00-0:08" took in the first 3 s that nobody judged.
    (b0, b1, best), _ = best_and_worst("---" + "c" * 7 + "w" * 10 + "cw" * 10 + "cn" * 5)  # 50 s: 10 s parts
    assert (b0, b1, best) == (3, 10, 1.0)


def test_a_short_session_never_names_one_stretch_both_best_and_weakest():
    """[demo] A 6-second session said "best 0:00-0:01, practise 0:00-0:01"."""
    assert best_and_worst("cccccc") is None
    (b0, b1, _), (w0, w1, _) = best_and_worst("cccwww")
    assert (b0, b1) == (0, 3) and (w0, w1) == (3, 6)  # parts of at least 3 s, and different ones
    assert best_and_worst("cc") is None  # too short to have two parts


def test_the_summary_carries_the_timeline_and_a_restarted_scorer_keeps_it():
    routine = routines.load("arm_raise")
    scorer = SessionScorer(routine)
    for i in range(60):  # 6 s at 10 fps; the person is off for seconds 2-3 (nobody in view)
        t = i / 10
        pose = None if 2 <= t < 4 else common_pose(routine.target(t))
        scorer.update(t, pose)
    state = json.loads(json.dumps(scorer.checkpoint()))
    again = SessionScorer(routine)
    again.restore(state)
    for i in range(60, 80):
        t = i / 10
        scorer.update(t, common_pose(routine.target(t)))
        again.update(t, common_pose(routine.target(t)))
    summary = scorer.summary()
    print(f"timeline {summary['timeline']!r}, score {summary['score']}")
    assert summary["timeline"][2:4] == "--" and len(summary["timeline"]) == 8
    # The strip is the score's judgement ([score] #47): its seconds have the score's colour. (Here
    # the gap hides the arms' top, the one repetition is judged short of the range, score 0.0, and
    # the strip says 'ww--ww--'; the frames' verdicts said 'cc--cnnn' beside that 0.0.)
    codes = set(summary["timeline"])
    assert codes <= set("cnw-") and CODES[share_verdict(summary["score"] / 100)] in codes
    assert "c" not in codes if summary["score"] < 40 else "w" not in codes
    assert again.summary()["timeline"] == summary["timeline"]


def test_the_session_message_refuses_a_timeline_it_could_not_draw():
    def session(timeline):
        return messages.Session(seq=1, t_capture_ns=1, session_id="s", event="end", routine="r", participant="p",
                                started_unix=1.0, summary={"score": 50.0, "reps": 1, "timeline": timeline})
    assert messages.from_wire(messages.to_wire(session("ccnw--"))).summary["timeline"] == "ccnw--"
    for bad in ("ccx", "c" * 20_000, 17):
        with pytest.raises(messages.MalformedMessage, match="timeline"):
            messages.from_wire(messages.to_wire(session(bad)))


# -- a routine with its video ------------------------------------------------------------------
@pytest.fixture(scope="module")
def video_routine(tmp_path_factory) -> routines.Routine:
    """A routine built by `silvergym routine build` from a clip of the drawn person (the real
    model runs on it), kept in a routine store of the test's own."""
    from tests.graph import core_model

    folder = tmp_path_factory.mktemp("store")
    clip = write_person_clip(folder / "instructor.mp4", routines.load("arm_raise"), seconds=4.0, fps=10.0,
                             size=(320, 240))
    done = subprocess.run([sys.executable, "-m", "common.cli", "routine", "build", str(clip), "--model", core_model(),
                           "-o", str(folder / "raise.json")], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    print(done.stdout)
    return routines.load(str(folder / "raise.json"))


def test_the_tvs_copy_of_a_30_fps_video_plays_at_15_on_the_same_clock(tmp_path):
    """Every frame the TV shows is one decode on the Pi's CPU beside the model: the copy keeps
    every other frame of a 30 fps video, and its frame at time t is the source's frame at t.
    Source frame i is grey level 4 i here, so each frame says which it is."""
    from common.cli.routine import TvCopy

    tv_copy = TvCopy(tmp_path / "videos", 30.0)
    for i in range(60):
        tv_copy.add(np.full((240, 320, 3), 4 * i, np.uint8))
    video = tv_copy.finish()
    assert (video.fps, video.frames) == (15.0, 30)
    copy = cv2.VideoCapture(str(tmp_path / "videos" / video.file_name))
    shown = [round(float(copy.read()[1].mean()) / 4) for _ in range(30)]
    copy.release()
    assert shown == [2 * k for k in range(30)]


def test_a_held_video_frame_is_scaled_once_and_the_next_one_is_shown(canvas):
    """At 15 video frames a second and 30 draws, every other draw shows the same picture: it is
    scaled once; a new picture is scaled anew (never a stale one)."""
    pictures = PanelPicture()
    first, second = np.full((48, 64, 3), 40, np.uint8), np.full((48, 64, 3), 200, np.uint8)
    shown = pictures.surface(first, (128, 96))
    assert pictures.surface(first, (128, 96)) is shown
    assert pygame.surfarray.pixels3d(pictures.surface(second, (128, 96))).mean() == pytest.approx(200)
    assert pictures.surface(second, (128, 96), flip=False) is not None


def test_routine_build_stores_the_video_by_its_content_and_list_says_so(video_routine, tmp_path):
    r = video_routine
    path = routines.video_path(r)
    assert r.video is not None and path.name == f"{r.video.sha256}.avi" and path.parent.name == "videos"
    assert r.video.frames == len(r.keyframes) == 40 and r.video.fps == pytest.approx(10.0)
    assert all(k.anchor is not None for k in r.keyframes if k.keypoints)
    capture = cv2.VideoCapture(str(path))
    assert capture.get(cv2.CAP_PROP_FOURCC) == cv2.VideoWriter_fourcc(*"MJPG")
    capture.release()
    # `routine list` shows which routines have a video, and whether it is still the one built.
    store = tmp_path / "store"
    store.mkdir()
    (store / "videos").mkdir()
    source = Path(r.source)
    (store / "mine.json").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (store / "moved.json").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    env = {"SILVERGYM_ROUTINE_STORE": str(store), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def listing() -> dict[str, str]:
        out = subprocess.run([sys.executable, "-m", "common.cli", "routine", "list"], capture_output=True,
                             text=True, cwd=REPO, env=env, timeout=60).stdout
        return {line.split()[0]: line for line in out.splitlines()}
    assert "video missing" in listing()["mine"]
    (store / "videos" / path.name).write_bytes(path.read_bytes())
    shown = listing()
    print("\n".join(shown.values()))
    assert "video 320x240, 4 s" in shown["mine"] and "drawn instructor" in shown["squat"]
    edited = bytearray(path.read_bytes())
    edited[len(edited) // 2] ^= 0xFF
    (store / "videos" / path.name).write_bytes(bytes(edited))
    assert "video altered" in listing()["mine"]
    # A name in the store is a routine name, as a bundled one is.
    done = subprocess.run([sys.executable, "-c", "from common.coach import routine as r; print(r.load('moved').name)"],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    assert done.stdout.strip() == "raise", done.stderr


def exercise_state(routine, now: float, routine_t: float, paused: bool = False):
    s = state_for("exercise", "en", now)
    start_ns = int((now - routine_t) * 1e9)
    s.routine = routine
    s.session = dataclasses.replace(s.session, routine=routine.name, routine_start_ns=start_ns,
                                    paused_at_ns=int(now * 1e9) if paused else 0)
    # The person in step (offset 0): the moment judged is the routine clock's (instructor_time).
    s.score = dataclasses.replace(s.score, routine=routine.name, routine_t_s=routine_t, offset_s=0.0)
    return s


def instructor_pixels(surface, fonts, picture_shape) -> np.ndarray:
    box = picture_box(exercise_panels(*SIZE)[0], SIZE[1])
    ph, pw = picture_shape[:2]
    scale, ox, oy = fit(pw, ph, box)
    size = (int(pw * scale), int(ph * scale))
    shown = pygame.surfarray.array3d(surface)[int(ox):int(ox) + size[0], int(oy):int(oy) + size[1]]
    return cv2.cvtColor(shown.transpose(1, 0, 2).copy(), cv2.COLOR_RGB2BGR), size


def decoded_frames(routine) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(routines.video_path(routine)))
    frames = []
    while (got := capture.read())[0]:
        frames.append(got[1])
    capture.release()
    return frames


def test_the_instructor_panel_is_the_videos_frame_at_the_routine_time_and_a_pause_freezes_it(video_routine, canvas):
    surface, fonts = canvas
    footage = InstructorFootage.of(video_routine)
    assert footage is not None
    frames = decoded_frames(video_routine)
    now = time.monotonic()
    for routine_t in (0.0, 1.25, 2.05, 3.9, 0.3):  # in order, then a jump back (a restarted session)
        s = exercise_state(video_routine, now, routine_t)
        s.footage = footage
        draw(surface, fonts, s, now)
        shown, size = instructor_pixels(surface, fonts, frames[0].shape)
        # Not mirrored in the routine: the video is flipped, so the side to move is on the same side.
        errors = [np.abs(cv2.flip(cv2.resize(f, size), 1).astype(int) - shown.astype(int)).mean() for f in frames]
        want = int(routine_t * video_routine.video.fps + 1e-6)
        print(f"routine {routine_t:.2f} s: panel closest to frame {int(np.argmin(errors))} (want {want}), "
              f"mean |diff| {errors[want]:.2f}, next best {sorted(errors)[1]:.2f}")
        assert int(np.argmin(errors)) == want and errors[want] < 0.05
    # Paused: the routine clock stands at the pause, whatever the time on the wall.
    s = exercise_state(video_routine, now, 2.05, paused=True)
    s.footage = footage
    s.frame_at = s.person_at = now + 3.0  # the camera and the person are still there
    assert draw(surface, fonts, s, now + 3.0) == "exercise"
    frozen, _ = instructor_pixels(surface, fonts, frames[0].shape)
    s.frame_at = s.person_at = now + 7.0
    assert draw(surface, fonts, s, now + 7.0) == "exercise"
    still, _ = instructor_pixels(surface, fonts, frames[0].shape)
    assert np.array_equal(frozen, still)
    assert np.abs(cv2.flip(cv2.resize(frames[20], size), 1).astype(int) - frozen.astype(int)).mean() < 1.0
    footage.close()


def test_a_mirrored_routine_shows_the_video_as_recorded_and_the_skeleton_can_be_overlaid(video_routine, canvas):
    surface, fonts = canvas
    mirrored = dataclasses.replace(video_routine, mirror=True)
    footage = InstructorFootage.of(mirrored)
    frames = decoded_frames(video_routine)
    now = time.monotonic()
    s = exercise_state(mirrored, now, 1.0)
    s.footage = footage
    draw(surface, fonts, s, now)
    shown, size = instructor_pixels(surface, fonts, frames[0].shape)
    assert np.abs(cv2.resize(frames[10], size).astype(int) - shown.astype(int)).mean() < 1.0
    s.instructor_skeleton = True
    draw(surface, fonts, s, now)
    overlaid, _ = instructor_pixels(surface, fonts, frames[0].shape)
    blue = np.all(np.abs(overlaid.astype(int) - (255, 200, 120)) < 30, axis=2)  # INSTRUCTOR_BLUE in BGR
    print(f"skeleton over the video: {blue.sum()} blue pixels")
    assert blue.sum() > 500
    # ...over the person: the blue lies where the drawn instructor's body is, not beside it.
    person = np.any(np.abs(cv2.resize(frames[10], size).astype(int) - (205, 215, 220)) > 40, axis=2)
    assert person[blue].mean() > 0.6
    footage.close()


def test_a_missing_altered_or_unreadable_video_falls_back_to_the_drawn_instructor_with_one_line(
        video_routine, tmp_path, caplog):
    copy = tmp_path / "r.json"
    copy.write_text(Path(video_routine.source).read_text(encoding="utf-8"), encoding="utf-8")
    moved = routines.load(str(copy))
    with caplog.at_level(logging.WARNING, logger="renderer"):
        assert InstructorFootage.of(moved) is None
    assert len(caplog.records) == 1 and "is missing" in caplog.records[0].getMessage()
    (tmp_path / "videos").mkdir()
    garbage = tmp_path / "videos" / video_routine.video.file_name
    garbage.write_bytes(b"not a video" * 1000)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="renderer"):
        assert InstructorFootage.of(moved) is None
    assert len(caplog.records) == 1 and "has changed" in caplog.records[0].getMessage()
    # The right hash over bytes that do not decode: a file damaged before it was built into the routine.
    from models.catalog import sha256_of

    unreadable = dataclasses.replace(moved, video=dataclasses.replace(moved.video, sha256=sha256_of(garbage)))
    garbage.rename(tmp_path / "videos" / unreadable.video.file_name)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="renderer"):
        assert InstructorFootage.of(unreadable) is None
    assert len(caplog.records) == 1 and "cannot be read" in caplog.records[0].getMessage()


def test_the_strip_fills_with_the_verdict_of_each_second(canvas):
    surface, fonts = canvas
    now = time.monotonic()
    s = state_for("exercise", "en", now)
    # [truth] The live strip is the score's judgement as it stands, the seconds after it not judged yet.
    codes = live_strip(s, routine_time(s, now))
    assert codes == s.judged_strip + PENDING * (len(codes) - len(s.judged_strip)) and PENDING in codes
    draw(surface, fonts, s, now)
    pixels = pygame.surfarray.array3d(surface)
    box, seconds = strip_rect(*SIZE), int(np.ceil(s.routine.duration_s))
    for second in range(seconds):
        cell = strip_cell(box, second, seconds)
        got = tuple(pixels[cell.centerx, cell.centery])
        assert got == (strip_color(codes[second]) if second < len(codes) else PANEL), second
    # The summary shows the whole session's strip from the summary's timeline.
    s = state_for("summary", "en", now)
    draw(surface, fonts, s, now)
    pixels = pygame.surfarray.array3d(surface)
    codes = s.session.summary["timeline"]
    box = summary_strip_rect(*SIZE)
    assert [tuple(pixels[c.centerx, c.centery]) for c in (strip_cell(box, i, len(codes)) for i in range(len(codes)))] \
        == [strip_color(c) for c in codes]


def test_the_video_frame_follows_the_routine_clock_held_at_the_ends_or_looping_with_the_routine():
    video = routines.InstructorVideo(sha256="0" * 64, fps=10.0, frames=40, width=320, height=240)
    held, looped = InstructorFootage(video, "unused.avi"), InstructorFootage(video, "unused.avi", loop=True)
    assert [held.frame_index(t) for t in (-2.0, 0.0, 0.099, 0.1, 3.9, 4.0, 60.0)] == [0, 0, 0, 1, 39, 39, 39]
    assert [looped.frame_index(t) for t in (0.0, 3.9, 4.0, 4.15, 60.0)] == [0, 39, 0, 1, 0]
