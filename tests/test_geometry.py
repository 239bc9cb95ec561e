"""Tier 1: geometry with exact values, including the quadrants the prototype's tanh(y/x)*90 got wrong."""
import math

import numpy as np
import pytest

from common.coach.geometry import circular_diff, direction, inner_angle, joint_angles
from common.coach.keypoints import COMMON, COMMON_INDEX


@pytest.mark.parametrize("dx, dy, expected", [
    (1, 0, 0.0), (1, 1, 45.0), (0, 1, 90.0), (-1, 1, 135.0), (-1, 0, 180.0),
    (-1, -1, 225.0), (0, -1, 270.0), (1, -1, 315.0), (3, 4, math.degrees(math.atan2(4, 3))),
])
def test_direction_covers_every_quadrant(dx, dy, expected):
    assert direction(10, 20, 10 + dx, 20 + dy) == pytest.approx(expected)


def test_direction_differs_from_the_prototype_formula_where_it_failed():
    # tanh(y/x)*90 gives 68.5 for (-1, -1) and cannot tell opposite directions apart.
    proto = math.tanh(-1 / -1) * 90
    assert direction(0, 0, -1, -1) == pytest.approx(225.0)
    assert abs(direction(0, 0, -1, -1) - proto) > 100
    assert direction(0, 0, 1, 1) != direction(0, 0, -1, -1)


@pytest.mark.parametrize("a, b, expected", [(10, 350, 20), (350, 10, -20), (180, 0, 180), (0, 180, 180), (90, 90, 0)])
def test_circular_diff(a, b, expected):
    assert circular_diff(a, b) == pytest.approx(expected)


def test_inner_angle_exact():
    assert inner_angle((1, 0), (0, 0), (0, 1)) == pytest.approx(90.0)
    assert inner_angle((1, 0), (0, 0), (-1, 0)) == pytest.approx(180.0)
    assert inner_angle((1, 0), (0, 0), (1, 1)) == pytest.approx(45.0)
    assert inner_angle((1, 0, 0), (0, 0, 0), (0, 0, 1)) == pytest.approx(90.0)
    assert math.isnan(inner_angle((0, 0), (0, 0), (1, 1)))


def _pose(points: dict) -> np.ndarray:
    out = np.zeros((len(COMMON), 3))
    for name, (x, y) in points.items():
        out[COMMON_INDEX[name]] = (x, y, 0.9)
    return out


def test_joint_angles_elbow_and_missing_keypoint_is_no_data():
    pose = _pose({"left_shoulder": (0, 0), "left_elbow": (0, 10), "left_wrist": (10, 10)})
    angles = joint_angles(pose)
    assert angles["left_elbow"] == pytest.approx(90.0)
    assert angles["right_elbow"] is None  # right arm not seen: no data, never a number
    pose[COMMON_INDEX["left_wrist"], 2] = 0.1  # low confidence
    assert joint_angles(pose)["left_elbow"] is None


def test_trunk_lean_and_tilt_signs():
    upright = _pose({"mid_hip": (100, 200), "neck": (100, 100)})
    right = _pose({"mid_hip": (100, 200), "neck": (150, 150)})
    left = _pose({"mid_hip": (100, 200), "neck": (50, 150)})
    assert joint_angles(upright)["trunk_lean"] == pytest.approx(0.0)
    assert joint_angles(right)["trunk_lean"] == pytest.approx(45.0)
    assert joint_angles(right)["trunk_tilt"] == pytest.approx(45.0)
    assert joint_angles(left)["trunk_tilt"] == pytest.approx(-45.0)


def test_world_landmarks_reveal_a_bend_the_camera_foreshortens():
    # Knee bent toward the camera: the image sees a straight line, the world landmarks 90 degrees.
    pose = _pose({"left_hip": (0, 0), "left_knee": (0, 10), "left_ankle": (0, 20)})
    world = np.zeros((len(COMMON), 3))
    world[COMMON_INDEX["left_hip"]] = (0, -0.4, 0)
    world[COMMON_INDEX["left_ankle"]] = (0, 0, -0.4)
    assert joint_angles(pose)["left_knee"] == pytest.approx(180.0)
    assert joint_angles(pose, world)["left_knee"] == pytest.approx(90.0)
