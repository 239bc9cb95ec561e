"""Record MediaPipe's own BlazePose outputs on ../shared/media as reference files for
tests/test_reference.py. Run once, by hand, in a separate virtualenv that has MediaPipe:

    python3 -m venv /tmp/mpref && /tmp/mpref/bin/pip install mediapipe==0.10.14
    /tmp/mpref/bin/python tests/reference/record_mediapipe.py ../shared/media tests/reference/mediapipe

MediaPipe is never a dependency of silvergym: this script is its only user. It runs the graph of
the legacy solution API `mediapipe.solutions.pose.Pose(model_complexity=1)` with the same side
inputs and parameters (the same pose_detection.tflite and pose_landmark_full.tflite files the
catalog extracts; smoothing on for videos, static mode for photos), and also asks the graph for
the region each frame's landmark model ran on. That API stamps frames at a simulated 30 fps
(33333 us apart) whatever the clip's rate; the file records those times so the test feeds
silvergym the same ones.

Each file: {"source", "sha256", "width", "height", "mediapipe", "static", "frames": [
  {"t": seconds, "roi": [cx, cy, w, h, rotation] (pixels, radians) | null,
   "image": [[x_px, y_px, visibility] x 33] | null, "world": [[x, y, z] x 33] (metres) | null}],
 "self_spread": {"image_mean_px", "image_p95_px", "world_mean_m", "share", "seeds"} (videos only)}

self_spread is how far MediaPipe lands from its own answer when the clip is changed invisibly:
one grey level up or down on `share` of the pixel values (models.imageops.invisibly_changed),
the worst of `seeds` random draws, measured as the test measures silvergym. On a tiny or 5 fps
clip the tracking loop amplifies such a change into pixels; no other implementation can be held
closer than that.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np
from mediapipe.python.solution_base import SolutionBase
from mediapipe.python.solutions import pose as mp_pose

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: models.imageops
from models.imageops import INVISIBLE_SHARE, invisibly_changed  # noqa: E402

VIDEO = {".mp4"}
IMAGE = {".jpg", ".png"}
PERTURB_SEEDS = 3


def frames_of(path: Path):
    if path.suffix in IMAGE:
        yield cv2.imread(str(path))
        return
    cap = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield frame
    finally:
        cap.release()


def pose_graph(static: bool) -> SolutionBase:
    """mp.solutions.pose.Pose(static_image_mode=static, model_complexity=1), plus the ROI outputs."""
    return SolutionBase(
        binary_graph_path=mp_pose._BINARYPB_FILE_PATH,
        side_inputs={"model_complexity": 1, "smooth_landmarks": not static, "enable_segmentation": False,
                     "smooth_segmentation": False, "use_prev_landmarks": not static},
        calculator_params={
            "posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh": 0.5,
            "poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__ThresholdingCalculator.threshold": 0.5},
        outputs=["pose_landmarks", "pose_world_landmarks", "pose_rect_from_detection", "pose_rect_from_landmarks"])


def record(path: Path) -> dict:
    static = path.suffix in IMAGE
    frames = list(frames_of(path))
    out = {"source": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
           "mediapipe": mp.__version__, "static": static, "frames": []}
    next_roi = None
    with pose_graph(static) as pose:
        for i, bgr in enumerate(frames):
            h, w = bgr.shape[:2]
            out["width"], out["height"] = w, h
            res = pose.process({"image": cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)})
            # The landmark model ran on a fresh detection's region, else on the previous frame's.
            used = res.pose_rect_from_detection or next_roi
            next_roi = res.pose_rect_from_landmarks
            frame = {"t": round((i + 1) * 0.033333, 6), "image": None, "world": None, "roi": None}
            if used is not None:
                frame["roi"] = [round(used.x_center * w, 3), round(used.y_center * h, 3), round(used.width * w, 3),
                                round(used.height * h, 3), round(used.rotation, 5)]
            if res.pose_landmarks:
                frame["image"] = [[round(p.x * w, 2), round(p.y * h, 2), round(p.visibility, 3)]
                                  for p in res.pose_landmarks.landmark]
                frame["world"] = [[round(p.x, 4), round(p.y, 4), round(p.z, 4)]
                                  for p in res.pose_world_landmarks.landmark]
            out["frames"].append(frame)
    if not static:
        out["self_spread"] = self_spread(frames)
    return out


def landmarks(frames: list) -> list:
    """MediaPipe's image (pixels) and world landmarks per frame, None where it found nobody."""
    found = []
    with pose_graph(False) as pose:
        for bgr in frames:
            h, w = bgr.shape[:2]
            res = pose.process({"image": cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)})
            found.append(None if not res.pose_landmarks else (
                np.array([[p.x * w, p.y * h] for p in res.pose_landmarks.landmark]),
                np.array([[p.x, p.y, p.z] for p in res.pose_world_landmarks.landmark])))
    return found


def self_spread(frames: list) -> dict:
    base = landmarks(frames)
    worst = [0.0, 0.0, 0.0]
    for seed in range(PERTURB_SEEDS):
        image_err, world_err = [], []
        rng = np.random.default_rng(seed)
        for a, b in zip(base, landmarks([invisibly_changed(bgr, rng) for bgr in frames])):
            if a is not None and b is not None:
                image_err.append(np.linalg.norm(a[0] - b[0], axis=1))
                world_err.append(np.linalg.norm(a[1] - b[1], axis=1))
        image_err, world_err = np.concatenate(image_err), np.concatenate(world_err)
        figures = (image_err.mean(), np.percentile(image_err, 95), world_err.mean())
        worst = [max(w, float(f)) for w, f in zip(worst, figures)]
    return {"image_mean_px": round(worst[0], 3), "image_p95_px": round(worst[1], 3),
            "world_mean_m": round(worst[2], 5), "share": INVISIBLE_SHARE, "seeds": PERTURB_SEEDS}


def main() -> int:
    media, dest = Path(sys.argv[1]), Path(sys.argv[2])
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(media.iterdir()):
        if path.suffix not in VIDEO | IMAGE:
            continue
        ref = record(path)
        found = sum(f["image"] is not None for f in ref["frames"])
        (dest / f"{path.stem}.json").write_text(json.dumps(ref, separators=(",", ":")) + "\n")
        print(f"{path.name}: {len(ref['frames'])} frames, pose in {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
