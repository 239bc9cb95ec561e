"""[demo] (in part), tier 3: `silvergym demo` without a camera runs the whole graph with the real
pose model on a clip it writes itself (a drawn person; no ../shared needed), and ends with a
readable summary. A short arm-raise routine keeps it to about half a minute."""
from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from common.coach import routine as routines
from common.coach.synthetic import SHIRT
from common.mosquitto import mosquitto_binary
from tests.conftest import REPO


@pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed (make test installs it)")
def test_the_demo_runs_the_real_model_on_its_own_clip_and_says_what_happened(tmp_path):
    short = routines.to_json(routines.load("arm_raise"))
    short.update(name="arm_raise_short", duration_s=12)
    routine = tmp_path / "arm_raise_short.json"
    routine.write_text(json.dumps(short))
    out = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "common.cli", "demo", "--routine", str(routine), "--out", str(out),
                           "--seconds", "120"], capture_output=True, text=True, cwd=REPO, timeout=180)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    print("\n" + "\n".join(lines[-4:]))
    assert lines[-4].startswith("Session of guest (arm_raise_short): score ")
    assert lines[-2] == "Delivered to the demo's MQTT broker" and not any(ln.startswith("{") for ln in lines)
    assert "no camera: the pose model watches" in done.stdout + done.stderr
    shots = sorted((out / "screens").glob("*_exercise.png"))
    assert len(shots) >= 2
    # The participant panel (right half) holds the clip's pixels: the drawn person's shirt.
    picture = cv2.imread(str(shots[-1]))
    right = picture[:, picture.shape[1] // 2:]
    shirt = np.all(np.abs(right.astype(int) - np.array(SHIRT)) < 12, axis=2).sum()
    assert shirt > 500, "no drawn person in the participant panel"
