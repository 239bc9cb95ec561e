"""MoveNet SinglePose Lightning: 192x192 uint8 RGB in, [1, 1, 17, 3] (y, x, score) out.

For video it follows MoveNet's published pipeline: the next frame is cropped around the person
found in this one (torso-based crop region), and keypoints are smoothed with a One Euro filter.
"""
from __future__ import annotations

import cv2
import numpy as np

from common.coach.keypoints import COCO17
from models.imageops import OneEuro, RepeatedPicture, Roi, input_to_image, warp

MIN_CROP_KEYPOINT_SCORE = 0.2
_TORSO = [COCO17.index(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
_HIPS = [COCO17.index("left_hip"), COCO17.index("right_hip")]


class MoveNet:
    layout = "coco17"

    def __init__(self, interpreter, name: str, backend: str, smooth: bool = True, search: bool = True):
        # False: read only the crop given with follow() (one member of a group, models/group.py).
        self.search = search
        self.name = name
        self.smooth = smooth
        self.use(interpreter, backend)
        self._crop: Roi | None = None
        self._filter = OneEuro(min_cutoff=0.5, beta=8.0)
        self._repeated = RepeatedPicture()

    def use(self, interpreter, backend: str) -> None:
        """Run on this interpreter from the next frame, keeping what is followed (a group's members
        move to the CPU when the Edge TPU fails, models/group.py)."""
        self.interpreter, self.backend = interpreter, backend
        inp = interpreter.get_input_details()[0]
        self._in_index = inp["index"]
        self._size = int(inp["shape"][2]), int(inp["shape"][1])
        self._out_index = interpreter.get_output_details()[0]["index"]

    def reset(self) -> None:
        self._crop = None
        self._filter.reset()
        self._repeated = RepeatedPicture()

    def follow(self, crop: Roi) -> None:
        """Read the next frame in `crop` (a group's detector found a person there)."""
        self._crop = crop

    def _run(self, bgr: np.ndarray, roi: Roi) -> np.ndarray:
        w, h = self._size
        crop = warp(bgr, roi, w, h)
        self.interpreter.set_tensor(self._in_index, cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)[None])
        self.interpreter.invoke()
        yxs = self.interpreter.get_tensor(self._out_index)[0, 0]
        pts = input_to_image(np.stack([yxs[:, 1] * w, yxs[:, 0] * h], axis=1), roi, w, h)
        return np.concatenate([pts, yxs[:, 2:3]], axis=1).astype(np.float64)

    def _read(self, bgr: np.ndarray) -> np.ndarray:
        """The model's keypoints on the tracked crop, or on first sight on the whole picture and
        then once more on a crop around the person: a full-frame guess that blended several
        people settles on the one whose torso it found."""
        height, width = bgr.shape[:2]
        if self._crop is None and not self.search:
            return np.zeros((len(COCO17), 3))
        kps = self._run(bgr, self._crop or Roi.letterbox(width, height))
        if self._crop is None:
            refined = crop_region(kps, width, height)
            if refined is not None:
                kps = self._run(bgr, refined)
        return kps

    def estimate(self, bgr: np.ndarray, t: float | None = None):
        """(17, 3) x, y, score in image pixels, or an empty array when nobody is found."""
        height, width = bgr.shape[:2]
        # A copy: the remembered reading stays as read while this one is smoothed.
        kps = self._repeated.reading_of(bgr, self._read).copy()
        if kps[_TORSO, 2].max() < MIN_CROP_KEYPOINT_SCORE:
            self.reset()
            return np.zeros((0, 3))
        self._crop = crop_region(kps, width, height)
        if self.smooth and t is not None:
            scale = max(np.ptp(kps[:, 0]), np.ptp(kps[:, 1]), 1.0)
            kps[:, :2] = self._filter(kps[:, :2], t, value_scale=1.0 / scale)
        return kps


def crop_region(kps: np.ndarray, width: int, height: int) -> Roi | None:
    """Square crop around the body (MoveNet's determine_crop_region), or None without a torso."""
    if (kps[_HIPS, 2] < MIN_CROP_KEYPOINT_SCORE).any() and (kps[_TORSO[:2], 2] < MIN_CROP_KEYPOINT_SCORE).any():
        return None
    if (kps[_HIPS, 2] >= MIN_CROP_KEYPOINT_SCORE).all():
        cx, cy = kps[_HIPS, 0].mean(), kps[_HIPS, 1].mean()
    else:
        cx, cy = kps[_TORSO[:2], 0].mean(), kps[_TORSO[:2], 1].mean()
    good = kps[:, 2] >= MIN_CROP_KEYPOINT_SCORE
    torso = [i for i in _TORSO if good[i]]
    torso_range = max(np.abs(kps[torso, :2] - [cx, cy]).max(), 1.0)
    body_range = np.abs(kps[good, :2] - [cx, cy]).max()
    half = max(torso_range * 1.9, body_range * 1.2)
    # Not larger than needed to reach the farthest image edge from the centre.
    half = min(half, max(cx, width - cx, cy, height - cy))
    if half * 2 < 16:
        return None
    return Roi(float(cx), float(cy), float(2 * half), float(2 * half))
