"""[truth] One truth per moment, on a real clip through the renderer's own drawing code.

The participant is the repository's real clip (media/demo/squats_5reps.mp4: a man doing 5
squats in 5.6 s, 10 fps) who first stands upright for 2 s while the routine already squats (longer
than the 1.5 s the alignment waits for a late start), then squats at 0.7x, as a senior moves. The routine is built from the same clip. Every pose is scored (SessionScorer, as the
scoring service does), the Score goes into the TV's state as the renderer absorbs it, and the
exercise screen is drawn (services/renderer/screen.py draw). On every drawing:

- the instructor panel shows the moment the verdict judged the person against
  (instructor_time = Score.routine_t_s - offset_s), and
- wherever the person is a phase away from the pose the TV shows (a scored joint beyond its
  near band from the shown moment's target), the screen paints no green on their skeleton and
  does not say "잘하고 있어요".

The same run with the instructor on the routine's own clock (the TV before this change) is
counted beside it: how many drawings were green while a phase away from what the TV showed.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pygame
import pytest

from common.bus import messages
from common.coach import cues
from common.coach import routine as routines
from common.coach.keypoints import to_common
from common.coach.scoring import MOVING_JOINT_DEG, SessionScorer
from services.renderer import absorb
from services.renderer.screen import (STATUS_COLORS, ScreenState, draw, exercise_panels, instructor_time,
                                      picture_box, routine_time, strip_rect)
from services.renderer.text import load_texts
from tests.graph import core_model

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "media" / "demo" / "squats_5reps.mp4"
SENIOR_SPEED = 0.7
STAND_S = 2.0  # first upright while the routine squats


@pytest.fixture(scope="module")
def clip_poses(tmp_path_factory):
    """The clip's frames (small copies for the TV's camera panel), raw model keypoints, layout,
    size and fps; and the routine built from it."""
    import cv2

    from common.cli.pose import open_estimator
    from common.cli.routine import build_from_video
    from common.media import read_frames

    folder = tmp_path_factory.mktemp("one_truth")
    model = core_model()
    built = build_from_video(str(CLIP), "squats_from_clip", model, folder)
    # A squat's joints, as the demo scores this clip (common/cli/demo.py): the man's arms swing as
    # he squats, and BlazePose's reading of his far elbow on this 10 fps clip jumps by up to 100°
    # between frames, so with the elbow scored nothing is ever green and the check proves nothing.
    routine = dataclasses.replace(built, movement="squat", joints=cues.coached_joints("squat", built.joints))
    est = open_estimator(model)
    frames, keypoints, times = [], [], []
    for _, t, bgr in read_frames(str(CLIP)):
        r = est.estimate(bgr, t)
        keypoints.append([[float(v) for v in p] for p in r.keypoints] if len(r.keypoints) else [])
        frames.append(cv2.resize(bgr, (bgr.shape[1] // 2, bgr.shape[0] // 2)))
        times.append(t)
    fps = (len(times) - 1) / times[-1]
    size = (frames[0].shape[1] * 2, frames[0].shape[0] * 2)
    return routine, frames, keypoints, est.layout, size, fps


def participant_moves(keypoints: list, fps: float) -> list[int]:
    """Indices into the clip, one per participant frame: its first (upright) frame held for
    STAND_S, then the squats at SENIOR_SPEED."""
    slowed = [int(k * SENIOR_SPEED) for k in range(int(len(keypoints) / SENIOR_SPEED))]
    return [0] * int(STAND_S * fps) + slowed


def pixels_of(surface: pygame.Surface, box: pygame.Rect, status: str) -> int:
    pixels = pygame.surfarray.pixels3d(surface)[box.left:box.right, box.top:box.bottom]
    return int(np.all(pixels == STATUS_COLORS[status], axis=2).sum())


def moving_joints(routine) -> list[str]:
    """The joints that make the movement: their target moves by MOVING_JOINT_DEG or more over the
    routine (a squat's knees and hips; not an arm that swings a little)."""
    targets = [routine.target(t) for t in np.arange(0.0, routine.duration_s, 0.05)]
    return [j for j in routine.joints
            if max(tg[j] for tg in targets if j in tg) - min(tg[j] for tg in targets if j in tg) >= MOVING_JOINT_DEG]


def test_no_green_and_no_praise_while_a_phase_away_from_the_pose_the_tv_shows(clip_poses, canvas):
    surface, fonts = canvas
    routine, frames, keypoints, layout, (W, H), fps = clip_poses
    texts = {**load_texts("ko"), "_locale": "ko"}
    now0 = time.monotonic()
    start_ns = int(now0 * 1e9)
    session = messages.Session(seq=1, t_capture_ns=start_ns, session_id="s1", event="start", routine=routine.name,
                               participant="guest", started_unix=time.time(), routine_start_ns=start_ns)
    state = ScreenState(routine=routine, texts=texts, started_at=now0 - 10)
    absorb(state, session, now0)
    scorer = SessionScorer(routine)
    movers = moving_joints(routine)
    you = picture_box(exercise_panels(*surface.get_size())[1], surface.get_height())
    cue_box = pygame.Rect(0, strip_rect(*surface.get_size()).bottom, surface.get_width(),
                          surface.get_height() - strip_rect(*surface.get_size()).bottom)
    drawings, green_drawn, away, away_green, clock_away_green, shown_lag = 0, 0, 0, 0, 0, []
    for k, i in enumerate(participant_moves(keypoints, fps)):
        t = k / fps
        if t > routine.duration_s:
            break
        now = now0 + t
        kps = keypoints[i]
        common = to_common(layout, np.asarray(kps)) if kps else None
        frame = scorer.update(t, common, None, (W, H))
        pose = messages.Pose(seq=k, t_capture_ns=int(now * 1e9), frame_id=k, width=W, height=H, model="m",
                             backend="cpu", layout=layout, keypoints=kps)
        picture = np.repeat(np.repeat(frames[i], 2, axis=0), 2, axis=1)
        for msg in (messages.Frame(seq=k, t_capture_ns=pose.t_capture_ns, frame_id=k, width=W, height=H,
                                   pixels=picture), pose,
                    messages.Score(seq=k, t_capture_ns=pose.t_capture_ns, frame_id=k, session_id="s1",
                                   routine=routine.name, joint_status=frame.joint_status,
                                   joint_error_deg=frame.joint_error_deg, verdict=frame.verdict, reps=frame.reps,
                                   score=frame.score, progress=frame.progress, offset_s=frame.offset_s,
                                   guidance=frame.guidance, phase=frame.phase, routine_t_s=round(t, 4))):
            absorb(state, msg, now)
        assert draw(surface, fonts, state, now) == "exercise"
        drawings += 1
        shown = instructor_time(state, now)
        assert shown == pytest.approx(max(0.0, t - frame.offset_s)), "the panel shows the moment judged"
        shown_lag.append(routine_time(state, now) - shown)
        # All green: green limbs and none yellow or red. "잘하고 있어요!" is written in that green.
        green = pixels_of(surface, you, "correct") > 30 and not any(
            pixels_of(surface, you, st) > 30 for st in ("near", "wrong"))
        praised = pixels_of(surface, cue_box, "correct") > 30
        green_drawn += green

        def phase_away(at: float) -> bool:
            """A joint that makes the movement beyond its near band from the pose at `at`."""
            target = routine.target(at)
            return any(abs(frame.angles[j] - target[j]) > routine.joints[j].near for j in movers
                       if frame.angles.get(j) is not None and j in target)
        if phase_away(shown):
            away += 1
            away_green += green or praised
        if frame.verdict == "correct" and phase_away(t):
            clock_away_green += 1  # green, while the routine's own clock (the old panel) shows another pose
    print(f"\n{drawings} drawings of the exercise screen; the instructor shown {min(shown_lag):.2f} to "
          f"{max(shown_lag):.2f} s behind the routine clock (the person's lag); skeleton green in {green_drawn}")
    print(f"joints that make the movement: {movers}")
    print(f"a phase away from the pose shown: {away} drawings, of them green or praised: {away_green}; "
          f"with the instructor on the routine clock, green while a phase away from it: {clock_away_green}")
    assert green_drawn >= 10, "the check needs drawings where the person is right (green)"
    assert away_green == 0
