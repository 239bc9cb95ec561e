"""silvergym's BlazePose held against MediaPipe itself, on the real clips in ../shared/media.

The reference files (tests/reference/mediapipe/*.json) were recorded once with mediapipe==0.10.14
by tests/reference/record_mediapipe.py (see its docstring); MediaPipe is not installed here. Each
holds, per frame, MediaPipe's image landmarks (pixels), world landmarks (metres) and the region its
landmark model ran on. Targets (issue [accuracy]): image landmarks mean <= 2 px and p95 <= 5 px,
world landmarks mean <= 0.02 m.

Two ways of running, both printed:
- region-locked: each frame's landmarks are read from MediaPipe's own region, so everything from
  the crop on (decoding, heatmap refinement, projection, world rotation, smoothing) is ours and
  is compared alone. The targets hold on every clip.
- free-running: our own detector and tracking, as in the product. The next frame's region comes
  from the heatmap-refined auxiliary landmarks, and there the two runtimes differ: measured on
  stretch_side_view from MediaPipe's own regions (its internal streams asked for by name), the raw
  regressed landmarks agree to 0.036 heatmap cells, the heatmap-refined ones only to 0.11 (up to
  0.44 on diffuse heatmaps: feet and the auxiliary top point), because the landmark model's
  heatmap output differs in its numbers between MediaPipe's TFLite build and ai-edge-litert (the
  decoded frames are byte-identical; the refinement formula, OpenCV's warpPerspective with
  MediaPipe's corner mapping and every op resolver were tried and change nothing). The region's
  centre and rotation then agree to 0.1 px and 0.002 rad, its size by 1.9 px on average (5.5 at
  most on a 420 px region), and the tracking carries that on; on fast or tiny clips it grows. The
  figures are printed and held to looser bounds written per clip below, so a regression still fails.

Deliberate differences: on the photo, MediaPipe follows its top-scoring detection (a person cut by
the frame edge); silvergym's choose_participant prefers the large, central person. The test gives
our pipeline MediaPipe's rule (`pick`) to compare the same person.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import MEDIA

REFERENCE = Path(__file__).resolve().parent / "reference" / "mediapipe"
CLIPS = sorted(p.stem for p in REFERENCE.glob("*.json"))

# Free-running bounds (image mean px, image p95 px, world mean m) where the targets are not met;
# measured 2026-11-24: squats_5reps 2.2 / 9.7 / 0.037, stretch_side_view 6.5 / 28.1 / 0.049.
FREE_RUNNING_BOUNDS = {
    "squats_5reps": (3.0, 12.0, 0.045),   # 311x172, a 150 px person: a cell of the heatmap is 3 px
    "stretch_side_view": (8.0, 35.0, 0.06),  # 5 fps side view: feet swap sides between frames
}


def top_score(detections, previous, to_image):
    """MediaPipe's rule: the detection with the highest score."""
    return max(detections, key=lambda d: d.score) if detections else None


def load(clip: str):
    ref = json.loads((REFERENCE / f"{clip}.json").read_text())
    path = MEDIA / ref["source"]
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared/media holds the sample clips; not part of the repo)")
    if hashlib.sha256(path.read_bytes()).hexdigest() != ref["sha256"]:
        pytest.skip(f"{path} differs from the clip the reference was recorded on")
    if ref["static"]:
        frames = [cv2.imread(str(path))]
    else:
        cap = cv2.VideoCapture(str(path))
        frames = []
        while (got := cap.read())[0]:
            frames.append(got[1])
        cap.release()
    assert len(frames) == len(ref["frames"]), "the clip decodes to a different number of frames"
    return ref, frames


def run(ref, frames, locked: bool):
    from models.estimator import Estimator
    from models.imageops import Roi

    pose = Estimator("blazepose-full").active
    pose.pick = top_score
    image_err, world_err = [], []
    for expected, bgr in zip(ref["frames"], frames):
        if locked and expected["roi"]:
            pose.follow(Roi(*expected["roi"]))
        found = pose.estimate(bgr, None if ref["static"] else expected["t"])
        if expected["image"] is None:
            continue
        assert len(found), "MediaPipe found the person on this frame and silvergym did not"
        image_err.append(np.linalg.norm(np.array(expected["image"])[:, :2] - found[:, :2], axis=1))
        world_err.append(np.linalg.norm(np.array(expected["world"]) - pose.last_world, axis=1))
    image_err, world_err = np.concatenate(image_err), np.concatenate(world_err)
    return float(image_err.mean()), float(np.percentile(image_err, 95)), float(world_err.mean())


@pytest.mark.parametrize("clip", CLIPS)
def test_landmarks_match_mediapipe_from_its_own_regions(clip):
    ref, frames = load(clip)
    mean_px, p95_px, world_m = run(ref, frames, locked=True)
    print(f"\n{clip} region-locked: image mean {mean_px:.2f} px, p95 {p95_px:.2f} px; world mean {world_m:.4f} m")
    if ref["static"]:
        # The photo's person is cut by the frame edge: MediaPipe's region is 1937 px on a 1052 px
        # picture, one input pixel 7.6 image pixels. Held to one input pixel instead of 2 px.
        side = ref["frames"][0]["roi"][2]
        assert mean_px <= side / 256 and world_m <= 0.02
        return
    assert mean_px <= 2.0 and p95_px <= 5.0 and world_m <= 0.02


@pytest.mark.parametrize("clip", [c for c in CLIPS if c != "three_people"])
def test_free_running_landmarks_stay_near_mediapipe(clip):
    ref, frames = load(clip)
    mean_px, p95_px, world_m = run(ref, frames, locked=False)
    print(f"\n{clip} free-running: image mean {mean_px:.2f} px, p95 {p95_px:.2f} px; world mean {world_m:.4f} m")
    bound_mean, bound_p95, bound_world = FREE_RUNNING_BOUNDS.get(clip, (2.0, 5.0, 0.02))
    assert mean_px <= bound_mean and p95_px <= bound_p95 and world_m <= bound_world


def test_the_heatmap_refinement_is_not_shifted_half_a_cell():
    """A heatmap peaked on cell (10, 20) of 64 refines to exactly 10/64, 20/64 (MediaPipe's formula)."""
    from models.blazepose import refine_from_heatmap

    heat = np.full((64, 64, 1), -20.0)
    heat[20, 10, 0] = 20.0
    out = refine_from_heatmap(np.array([[10.3 / 64, 20.4 / 64]]), heat)
    assert np.allclose(out[0], [10 / 64, 20 / 64], atol=1e-6)
