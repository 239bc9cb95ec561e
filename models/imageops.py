"""Rotated regions of interest and the affine warps between an image and a model's input square.

A Roi is a rectangle in image pixels: centre, width, height and rotation (radians, clockwise
in image coordinates, as MediaPipe's NormalizedRect). A letterbox of the whole image is the
square Roi centred on the image whose side is the longer image side (no stretching).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Roi:
    cx: float
    cy: float
    w: float
    h: float
    rotation: float = 0.0

    @staticmethod
    def letterbox(width: int, height: int) -> "Roi":
        side = float(max(width, height))
        return Roi(width / 2.0, height / 2.0, side, side, 0.0)

    def iou(self, other: "Roi") -> float:
        """Axis-aligned IoU (rotation ignored); enough to tell the same person from another."""
        ax0, ay0, ax1, ay1 = self.cx - self.w / 2, self.cy - self.h / 2, self.cx + self.w / 2, self.cy + self.h / 2
        bx0, by0, bx1, by1 = other.cx - other.w / 2, other.cy - other.h / 2, other.cx + other.w / 2, other.cy + other.h / 2
        iw, ih = max(0.0, min(ax1, bx1) - max(ax0, bx0)), max(0.0, min(ay1, by1) - max(ay0, by0))
        inter = iw * ih
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0


def roi_to_input_matrix(roi: Roi, size_w: int, size_h: int) -> np.ndarray:
    """2x3 affine taking image pixels to model-input pixels for `roi`."""
    cos, sin = math.cos(roi.rotation), math.sin(roi.rotation)
    sx, sy = size_w / roi.w, size_h / roi.h
    # input = S * R(-rot) * (p - c) + size/2
    m = np.array([[cos * sx, sin * sx, 0.0], [-sin * sy, cos * sy, 0.0]])
    m[:, 2] = np.array([size_w / 2.0, size_h / 2.0]) - m[:, :2] @ np.array([roi.cx, roi.cy])
    return m


def input_to_image(points: np.ndarray, roi: Roi, size_w: int, size_h: int) -> np.ndarray:
    """Model-input pixel coordinates (N, 2) -> image pixels."""
    cos, sin = math.cos(roi.rotation), math.sin(roi.rotation)
    u = (points[:, 0] / size_w - 0.5) * roi.w
    v = (points[:, 1] / size_h - 0.5) * roi.h
    return np.stack([roi.cx + cos * u - sin * v, roi.cy + sin * u + cos * v], axis=1)


@functools.lru_cache(maxsize=8)
def _output_grid(size_w: int, size_h: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size_h, 0:size_w].astype(np.float32)
    return xs, ys


def warp(image: np.ndarray, roi: Roi, size_w: int, size_h: int, replicate: bool = False) -> np.ndarray:
    """The model's input square for `roi`, sampled as MediaPipe samples it: bilinear at 1/32 pixel.

    MediaPipe's crop is OpenCV's fixed-point warp, which rounds each source position to 1/32 of
    a pixel. OpenCV 5's warpAffine samples at the exact position instead, so 12% of a crop's values
    differed by 1-5 levels, the landmark model moved its points by ~0.1 px for it and tracking
    carried that on. Converting the exact map to fixed point leaves 0.015-0.05% of the values one
    level apart (measured once against the input tensor MediaPipe's own ImageToTensor made for the
    same regions; the region-locked figures of tests/test_reference.py show the effect).
    """
    inv = cv2.invertAffineTransform(roi_to_input_matrix(roi, size_w, size_h)).astype(np.float32)
    xs, ys = _output_grid(size_w, size_h)
    map_x = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    map_y = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    whole, fraction = cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)
    border = cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT
    return cv2.remap(image, whole, fraction, cv2.INTER_LINEAR, borderMode=border, borderValue=0)


# One grey level on this share of a picture's values: about what separates two correct crops of
# the same frame (their 1/32-pixel rounding), and far below what any eye or camera would notice.
INVISIBLE_SHARE = 0.0003


def invisibly_changed(bgr: np.ndarray, rng: np.random.Generator, share: float = INVISIBLE_SHARE) -> np.ndarray:
    """The picture with one grey level up or down on `share` of its values, chosen by `rng`.

    A tracking model feeds each frame's answer into the next frame's crop, so a change this small
    can move its readings by pixels (MediaPipe's own BlazePose included: tests/test_reference.py).
    Reading a video a second time, so changed, shows how steadily the model reads each joint."""
    values = bgr.astype(np.int16)
    chosen = rng.random(values.shape) < share
    values[chosen] += rng.choice(np.array([-1, 1], np.int16), size=int(chosen.sum()))
    return np.clip(values, 0, 255).astype(np.uint8)


class OneEuro:
    """One Euro filter over an array of values (Casiez et al. 2012), time in seconds, as MediaPipe's
    OneEuroFilter: the speed is taken from the previous *raw* value, not the previous output.

    `value_scale` makes it scale-invariant: MediaPipe divides by the person's size so a
    person far away is smoothed like one close by.
    """

    def __init__(self, min_cutoff: float, beta: float, d_cutoff: float = 1.0):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._x: np.ndarray | None = None
        self._raw: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    @staticmethod
    def _alpha(cutoff, dt):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def reset(self) -> None:
        self._x = self._raw = self._dx = self._t = None

    def __call__(self, x: np.ndarray, t: float, value_scale: float = 1.0) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None or self._x.shape != x.shape:
            self._x, self._raw, self._dx, self._t = x.copy(), x.copy(), np.zeros_like(x), t
            return x.copy()
        if t <= self._t:  # a repeated or older time stamp: pass through, keep the state
            return x.copy()
        dt = t - self._t
        dx = (x - self._raw) * value_scale / dt
        a_d = self._alpha(self.d_cutoff, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        a = self._alpha(cutoff, dt)
        self._x = a * x + (1 - a) * self._x
        self._raw, self._t = x.copy(), t
        return self._x.copy()


class RepeatedPicture:
    """Remembers a model's reading of the last picture, so the very same picture again (a video
    whose frames repeat: a frame-rate conversion, a slowed or paused clip) gets the same reading.
    Read afresh, it would go through a crop moved by the model's own previous answer, and a
    sensitive model answers differently: up to 70 degrees on a hip in a side view (measured on
    stretch_side_view.mp4 played at 0.67x). A camera's pictures always differ by sensor noise;
    a sparse sample of pixels tells that at once. The picture is kept by reference, not copied
    (a frame is never changed after it was read); a buffer handed in again is not trusted."""

    def __init__(self) -> None:
        self.picture: np.ndarray | None = None
        self.reading = None

    def recall(self, bgr: np.ndarray):
        """The reading of this picture if it is the one remembered, else None."""
        last = self.picture
        if last is None or last is bgr or last.shape != bgr.shape:
            return None
        if not np.array_equal(last[::17, ::13], bgr[::17, ::13]):
            return None
        return self.reading if np.array_equal(last, bgr) else None

    def remember(self, bgr: np.ndarray, reading) -> None:
        self.picture, self.reading = bgr, reading

    def reading_of(self, bgr: np.ndarray, read):
        """The remembered reading of this very picture, else read(bgr), remembered unless None
        (nobody found: the next picture is read afresh)."""
        reading = self.recall(bgr)
        if reading is None:
            reading = read(bgr)
            if reading is not None:
                self.remember(bgr, reading)
        return reading
