"""Angles from keypoints. Image coordinates: x right, y down. Degrees throughout.

A missing or low-confidence keypoint yields None ("no data"), never a number.
"""
from __future__ import annotations

import math

import numpy as np

from common.coach.keypoints import COMMON_INDEX

MIN_SCORE = 0.3


def direction(ax: float, ay: float, bx: float, by: float) -> float:
    """Direction of segment a->b in [0, 360): 0 = right, 90 = down the image (y grows down)."""
    return math.degrees(math.atan2(by - ay, bx - ax)) % 360.0


def circular_diff(a: float, b: float) -> float:
    """Signed smallest difference a - b in (-180, 180]."""
    d = (a - b) % 360.0
    return d - 360.0 if d > 180.0 else d


def inner_angle(a, b, c) -> float:
    """Angle a-b-c at b in [0, 180]; points are (x, y) or (x, y, z)."""
    v1 = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    v2 = np.asarray(c, dtype=float) - np.asarray(b, dtype=float)
    n = np.linalg.norm(v1) * np.linalg.norm(v2)
    if n == 0:
        return float("nan")
    return math.degrees(math.acos(max(-1.0, min(1.0, float(np.dot(v1, v2) / n)))))


# Joint angles scoring uses: name -> (a, vertex, c) in the common skeleton; "vertical" means a
# point straight above the vertex (trunk lean, arm raise from the body line).
JOINT_ANGLES: dict[str, tuple[str, str, str]] = {
    "left_elbow": ("left_shoulder", "left_elbow", "left_wrist"),
    "right_elbow": ("right_shoulder", "right_elbow", "right_wrist"),
    "left_shoulder": ("left_hip", "left_shoulder", "left_elbow"),
    "right_shoulder": ("right_hip", "right_shoulder", "right_elbow"),
    "left_hip": ("left_shoulder", "left_hip", "left_knee"),
    "right_hip": ("right_shoulder", "right_hip", "right_knee"),
    "left_knee": ("left_hip", "left_knee", "left_ankle"),
    "right_knee": ("right_hip", "right_knee", "right_ankle"),
    "trunk_lean": ("vertical", "mid_hip", "neck"),
}

# Signed angles (not inner angles): name -> (from, to); the segment's direction relative to
# straight up, + when it leans toward the image's right. Used for side bends.
SIGNED_ANGLES: dict[str, tuple[str, str]] = {"trunk_tilt": ("mid_hip", "neck")}
ALL_ANGLES = tuple(JOINT_ANGLES) + tuple(SIGNED_ANGLES)
_A = np.array([COMMON_INDEX.get(a, 0) for a, _, _ in JOINT_ANGLES.values()])
_A_IS_VERTICAL = np.array([a == "vertical" for a, _, _ in JOINT_ANGLES.values()])
_B = np.array([COMMON_INDEX[b] for _, b, _ in JOINT_ANGLES.values()])
_C = np.array([COMMON_INDEX[c] for _, _, c in JOINT_ANGLES.values()])


def trunk_lean(hip, neck) -> float | None:
    """joint_angles' trunk_lean from its two points alone (the fall detector's, on every pose):
    the trunk's angle from upright in the picture, degrees; None when the points coincide."""
    dx, dy = float(neck[0] - hip[0]), float(neck[1] - hip[1])
    length = math.hypot(dx, dy)
    return math.degrees(math.acos(max(-1.0, min(1.0, -dy / length)))) if length > 0 else None


def crown(nose, neck, hip) -> np.ndarray | None:
    """Where the top of the head is in the picture: half the neck-to-nose distance beyond the
    nose, along the trunk (hip to neck). A model carries the nose on just inside an edge that
    cuts the head off, so the nose alone does not say the head has left the picture; along the
    trunk rather than the neck-to-nose line, which points forward in a side view."""
    nose, neck, hip = (np.asarray(p, dtype=float)[:2] for p in (nose, neck, hip))
    up = neck - hip
    length = float(np.hypot(*up))
    if length == 0:
        return None
    return nose + up / length * 0.5 * float(np.hypot(*(nose - neck)))


def sole(knee, ankle) -> np.ndarray | None:
    """Where the sole of the foot is in the picture: a fifth of the shin's length beyond the ankle,
    along the shin (a foot is about that tall); the ankle can be in the picture with the foot out."""
    knee, ankle = (np.asarray(p, dtype=float)[:2] for p in (knee, ankle))
    return None if np.array_equal(knee, ankle) else ankle + 0.2 * (ankle - knee)


def joint_visibility(common: np.ndarray) -> dict[str, float]:
    """How well each joint angle is seen: the lowest score of the points it is taken from (the
    model's visibility or confidence, 0 for a point out of the picture)."""
    score_a = np.where(_A_IS_VERTICAL, 1.0, common[_A, 2])
    seen = np.minimum(np.minimum(score_a, common[_B, 2]), common[_C, 2])
    out = {name: float(seen[k]) for k, name in enumerate(JOINT_ANGLES)}
    for name, (a, b) in SIGNED_ANGLES.items():
        out[name] = float(min(common[COMMON_INDEX[a], 2], common[COMMON_INDEX[b], 2]))
    return out


def joint_angles(common: np.ndarray, world: np.ndarray | None = None,
                 min_score: float = MIN_SCORE) -> dict[str, float | None]:
    """All angles of one pose in the common skeleton ((N, 3) x, y, score). With `world` (the
    model's 3D landmarks in metres, (N, 3), BlazePose) inner angles are taken in 3D, which sees a
    squat or a forward lean that a camera in front of the person foreshortens away; without it
    (MoveNet) from the image's x, y. Never from a model's image z: it is not in x's units."""
    pts = np.asarray(common[:, :2] if world is None else world, dtype=float)
    # All inner angles in one pass (scoring runs this on every pose, 30 times a second).
    up = np.zeros(pts.shape[1])
    up[1] = -100.0  # "vertical": a point straight above the vertex (y grows down)
    a = np.where(_A_IS_VERTICAL[:, None], pts[_B] + up, pts[_A])
    v1, v2 = a - pts[_B], pts[_C] - pts[_B]
    norms = np.linalg.norm(v1, axis=1) * np.linalg.norm(v2, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.clip(np.einsum("ij,ij->i", v1, v2) / norms, -1.0, 1.0)
    angles = np.degrees(np.arccos(cos))
    score_a = np.where(_A_IS_VERTICAL, 1.0, common[_A, 2])
    seen = (np.minimum(np.minimum(score_a, common[_B, 2]), common[_C, 2]) >= min_score) & (norms > 0)
    out: dict[str, float | None] = {name: (float(angles[k]) if seen[k] else None)
                                    for k, name in enumerate(JOINT_ANGLES)}
    for name, (a, b) in SIGNED_ANGLES.items():
        pa, pb = common[COMMON_INDEX[a]], common[COMMON_INDEX[b]]
        if min(pa[2], pb[2]) < min_score or (pa[0] == pb[0] and pa[1] == pb[1]):
            out[name] = None
            continue
        out[name] = circular_diff(direction(pa[0], pa[1], pb[0], pb[1]), 270.0)
    return out


# The hips this many trunk lengths (neck to mid-hip) from the last reading's, within
# ANOTHER_BODY_WITHIN_S: another person (one person's reader jumped to someone walking past). A body
# moves that far in 0.3 s only at a sprint; a jump, a fall or a lunge moves the hips about a trunk.
ANOTHER_BODY_TRUNKS = 2.0
ANOTHER_BODY_WITHIN_S = 0.3


def another_body(last: tuple[float, float, float, float] | None, now: tuple[float, float, float, float]) -> bool:
    """Whether two readings (t, hip x, hip y, trunk length in px) are two people's bodies: the hips
    ANOTHER_BODY_TRUNKS of the larger trunk apart, the readings within ANOTHER_BODY_WITHIN_S.
    The scoring (a repetition done by two people is nobody's) and the fall detector (the other's
    body is no fall of this one's) ask the same question."""
    if last is None or now[0] - last[0] > ANOTHER_BODY_WITHIN_S:
        return False
    unit = max(last[3], now[3])
    return unit > 0 and math.hypot(now[1] - last[1], now[2] - last[2]) > ANOTHER_BODY_TRUNKS * unit
