"""[demo] tier 3: `silvergym demo` without a camera runs the whole graph with the real pose model
on a recorded participant whose clip starts with the routine: a real person
(../shared/media/squats_5reps.mp4, against a routine it builds from that clip) when the development
folder is there; otherwise, or with --routine NAME, a clip of a drawn person that it writes itself
(media are never in the repository), so this also runs on a fresh clone."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

from common.coach import routine as routines
from common.coach.synthetic import SHIRT
from common.mosquitto import mosquitto_binary
from tests.conftest import REPO, media_file

needs_mosquitto = pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed (make test installs it)")


@needs_mosquitto
def test_the_demo_runs_the_real_model_on_a_real_person_and_says_what_happened(tmp_path):
    clip = media_file("squats_5reps.mp4")
    out = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "common.cli", "demo", "--out", str(out), "--seconds", "120"],
                          capture_output=True, text=True, cwd=REPO, timeout=180)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    print("\n" + "\n".join(lines[-4:]))
    assert lines[-4].startswith("Session of guest (squats_from_clip): score ")
    assert lines[-2] == "Delivered to the demo's MQTT broker" and not any(ln.startswith("{") for ln in lines)
    assert "a real person doing 5 squats" in done.stdout + done.stderr
    shots = sorted((out / "screens").glob("*_exercise_t*.png"))
    assert shots
    # [people] The snapshots fall on different moments of the 5 s squat cycle, not all on one pose.
    phases = sorted({round(float(p.stem.split("_t")[-1]) % 5.0, 1) for p in shots})
    print(f"{len(shots)} exercise snapshots at {len(phases)} different moments of the 5 s cycle: {phases}")
    assert len(phases) >= min(3, len(shots))
    # The participant panel (right half) holds the clip's pixels, not a drawing: its picture matches
    # one of the clip's frames, mirrored and scaled as the renderer shows it.
    cap = cv2.VideoCapture(str(clip))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    screen = cv2.imread(str(shots[-1]))
    h, w = screen.shape[:2]
    from services.renderer.screen import exercise_panels, picture_box

    def nearest_frame(box) -> tuple[float, int]:
        box_x, box_y, box_w, box_h = box
        fh, fw = frames[0].shape[:2]
        scale = min(box_w / fw, box_h / fh)
        size = (int(fw * scale), int(fh * scale))
        ox, oy = int(box_x + (box_w - size[0]) / 2), int(box_y + (box_h - size[1]) / 2)
        shown = screen[oy + 5:oy + size[1] - 5, ox + 5:ox + size[0] - 5].astype(int)
        errors = [np.abs(cv2.flip(cv2.resize(f, size), 1)[5:-5, 5:-5].astype(int) - shown).mean() for f in frames]
        return min(errors), int(np.argmin(errors))

    instructor_panel, participant_panel = (picture_box(panel, h) for panel in exercise_panels(w, h))
    error, frame = nearest_frame(participant_panel)
    print(f"participant panel vs the nearest clip frame: mean |diff| {error:.1f} of 255 (frame {frame})")
    assert error < 25, "the participant panel does not show the clip"
    # The instructor panel plays the clip the routine was built from (the instructor's video).
    error, frame = nearest_frame(instructor_panel)
    print(f"instructor panel vs the nearest clip frame: mean |diff| {error:.1f} of 255 (frame {frame})")
    assert error < 25, "the instructor panel does not show the instructor's video"
    # What `silvergym score` gives for the same clip and routine, printed beside the demo's.
    offline = subprocess.run([sys.executable, "-m", "common.cli", "score", "--routine", str(out / "squats_from_clip.json"),
                              "--video", str(clip), "--json"], capture_output=True, text=True, cwd=REPO, timeout=120)
    summary = json.loads(offline.stdout.strip().splitlines()[-1])
    print(f"silvergym score on the same clip: score {summary['score']:.1f}, {summary['reps']} repetitions")
    demo_score, demo_reps = re.match(r"Session of guest \(squats_from_clip\): score (\d+)/100, (\d+) repetitions",
                                     lines[-4]).groups()
    assert summary["reps"] == int(demo_reps) == 5
    assert abs(summary["score"] - int(demo_score)) <= 1


@needs_mosquitto
def test_without_shared_the_demo_runs_the_real_model_on_its_own_drawn_clip(tmp_path):
    short = routines.to_json(routines.load("arm_raise"))
    short.update(name="arm_raise_short", duration_s=12)
    routine = tmp_path / "arm_raise_short.json"
    routine.write_text(json.dumps(short))
    out = tmp_path / "demo"
    env = {**os.environ, "SILVERGYM_SHARED": str(tmp_path / "no-shared")}
    done = subprocess.run([sys.executable, "-m", "common.cli", "demo", "--routine", str(routine), "--out", str(out),
                           "--seconds", "120"], capture_output=True, text=True, cwd=REPO, timeout=180, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    print("\n" + "\n".join(lines[-4:]))
    assert lines[-4].startswith("Session of guest (arm_raise_short): score ")
    assert lines[-2] == "Delivered to the demo's MQTT broker" and not any(ln.startswith("{") for ln in lines)
    assert "no camera: the pose model watches" in done.stdout + done.stderr
    shots = sorted((out / "screens").glob("*_exercise_t*.png"))
    assert len(shots) >= 2
    # The participant panel (right half) holds the clip's pixels: the drawn person's shirt.
    picture = cv2.imread(str(shots[-1]))
    right = picture[:, picture.shape[1] // 2:]
    shirt = np.all(np.abs(right.astype(int) - np.array(SHIRT)) < 12, axis=2).sum()
    assert shirt > 500, "no drawn person in the participant panel"
