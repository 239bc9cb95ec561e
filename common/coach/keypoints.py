"""Keypoint vocabulary shared by models, scoring and the renderer.

The common skeleton is COCO-17 plus two derived points: `neck` (mid-shoulder) and `mid_hip`
(the sacrum). Every model layout maps onto it by name.
"""
from __future__ import annotations

import numpy as np

COCO17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)

BLAZEPOSE33 = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)

LAYOUTS: dict[str, tuple[str, ...]] = {"coco17": COCO17, "blazepose33": BLAZEPOSE33}

COMMON = COCO17 + ("neck", "mid_hip")
COMMON_INDEX = {name: i for i, name in enumerate(COMMON)}

# Limbs drawn by the renderer, in the common skeleton.
EDGES = (
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("neck", "nose"), ("neck", "mid_hip"),
)

# The 12 body joints every layout has; used to compare models with each other.
BODY12 = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)


def mirror_name(name: str) -> str:
    """left_x <-> right_x; a mirrored image shows the person's left on the viewer's left."""
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


MIRROR_SWAP = tuple(COMMON_INDEX[mirror_name(n)] for n in COMMON)


def to_common(layout: str, keypoints) -> np.ndarray:
    """Native [[x, y, score], ...] -> (len(COMMON), 3) array; missing points get score 0."""
    names = LAYOUTS[layout]
    out = np.zeros((len(COMMON), 3), dtype=np.float64)
    if len(keypoints) == 0:
        return out
    native = np.asarray(keypoints, dtype=np.float64).reshape(len(names), -1)[:, :3]
    for i, name in enumerate(names):
        j = COMMON_INDEX.get(name)
        if j is not None:
            out[j] = native[i]
    _derive(out, "neck", "left_shoulder", "right_shoulder")
    _derive(out, "mid_hip", "left_hip", "right_hip")
    return out


def to_common_world(layout: str, world) -> np.ndarray | None:
    """Native world landmarks [[x, y, z], ...] (metres) -> (len(COMMON), 3) in the common
    skeleton, or None when the model gives none."""
    names = LAYOUTS[layout]
    if world is None or len(world) != len(names):
        return None
    native = np.asarray(world, dtype=np.float64).reshape(len(names), 3)
    out = np.zeros((len(COMMON), 3))
    for i, name in enumerate(names):
        j = COMMON_INDEX.get(name)
        if j is not None:
            out[j] = native[i]
    for name, a, b in (("neck", "left_shoulder", "right_shoulder"), ("mid_hip", "left_hip", "right_hip")):
        out[COMMON_INDEX[name]] = (out[COMMON_INDEX[a]] + out[COMMON_INDEX[b]]) / 2
    return out


def _derive(out: np.ndarray, name: str, a: str, b: str) -> None:
    pa, pb = out[COMMON_INDEX[a]], out[COMMON_INDEX[b]]
    out[COMMON_INDEX[name]] = ((pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2, min(pa[2], pb[2]))


def mirror(common: np.ndarray, width: float) -> np.ndarray:
    """The mirror-image pose: x flipped in an image of `width` and left/right swapped, so the
    participant's right arm stands where a facing instructor's left arm is."""
    out = common[list(MIRROR_SWAP)].copy()
    out[:, 0] = width - 1 - out[:, 0]
    return out


def flip_x(common: np.ndarray, width: float) -> np.ndarray:
    """x flipped, names kept: where each joint appears on a mirrored camera picture."""
    out = common.copy()
    out[:, 0] = width - 1 - out[:, 0]
    return out
