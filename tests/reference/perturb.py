"""A clip changed invisibly (models.imageops.invisibly_changed on every frame, one random draw per
seed), for the reference recorder (MediaPipe against itself) and for tests that hold silvergym's
results steady under the same change. Imports only NumPy and OpenCV, so MediaPipe's virtualenv
can use it with the repository on its path."""
from __future__ import annotations

import numpy as np

from models.imageops import INVISIBLE_SHARE, invisibly_changed

PERTURB_SHARE = INVISIBLE_SHARE


def perturbed(frames: list, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [invisibly_changed(bgr, rng) for bgr in frames]
