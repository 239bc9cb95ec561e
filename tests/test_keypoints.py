import numpy as np
import pytest

from common.coach.keypoints import (
    BLAZEPOSE33,
    COCO17,
    COMMON,
    COMMON_INDEX,
    EDGES,
    flip_x,
    mirror,
    mirror_name,
    to_common,
)


def test_mirror_swaps_sides_and_flips_x():
    pts = np.zeros((len(COMMON), 3))
    pts[COMMON_INDEX["left_wrist"]] = (10, 50, 0.9)
    m = mirror(pts, 100)
    assert tuple(m[COMMON_INDEX["right_wrist"]]) == (89, 50, 0.9)
    assert m[COMMON_INDEX["left_wrist"], 2] == 0
    assert mirror_name("left_knee") == "right_knee" and mirror_name("nose") == "nose"
    assert tuple(flip_x(pts, 100)[COMMON_INDEX["left_wrist"]]) == (89, 50, 0.9)


@pytest.mark.parametrize("layout, names", [("coco17", COCO17), ("blazepose33", BLAZEPOSE33)])
def test_to_common_maps_by_name_and_derives_neck_and_mid_hip(layout, names):
    native = [[float(i), float(2 * i), 0.8] for i in range(len(names))]
    common = to_common(layout, native)
    ls, rs = names.index("left_shoulder"), names.index("right_shoulder")
    assert common[COMMON_INDEX["left_shoulder"], 0] == ls
    assert common[COMMON_INDEX["neck"], 0] == pytest.approx((ls + rs) / 2)
    assert to_common(layout, []).sum() == 0


def test_edges_use_known_names():
    for a, b in EDGES:
        assert a in COMMON_INDEX and b in COMMON_INDEX
