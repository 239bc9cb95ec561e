"""Tier 1: BlazePose's anchor generation and decoding against values worked out by hand."""
import math
import warnings

import numpy as np
import pytest

from models.blazepose import (
    Detection,
    alignment_roi,
    choose_participant,
    decode_detections,
    generate_anchors,
    refine_from_heatmap,
    sigmoid,
    weighted_nms,
)
from models.imageops import OneEuro, Roi, input_to_image, roi_to_input_matrix


def test_sigmoid_of_a_far_logit_gives_no_overflow_warning():
    # The landmark model's visibility logits of an unseen joint reach -1000 and below (float32):
    # an unclipped exp overflowed and numpy warned on every default-model run.
    logits = np.array([-1e4, -30.0, 0.0, 30.0, 1e4], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probs = sigmoid(logits)
    assert probs[0] == pytest.approx(0.0, abs=1e-30) and probs[2] == pytest.approx(0.5)
    assert probs[-1] == pytest.approx(1.0) and np.all(np.diff(probs) >= 0)


def test_anchor_layout_matches_mediapipe_ssd_options():
    a = generate_anchors()
    assert a.shape == (2254, 2)  # 28*28*2 + 14*14*2 + 7*7*6
    assert a[0] == pytest.approx([0.5 / 28, 0.5 / 28]) and a[1] == pytest.approx(a[0])  # 2 per location
    assert a[2] == pytest.approx([1.5 / 28, 0.5 / 28])
    assert a[1568] == pytest.approx([0.5 / 14, 0.5 / 14])  # stride 16 starts after 28*28*2
    assert a[1960] == pytest.approx([0.5 / 7, 0.5 / 7])  # strides 32,32,32 share a grid: 6 per location
    assert a[1965] == pytest.approx(a[1960]) and a[1966] == pytest.approx([1.5 / 7, 0.5 / 7])
    assert a[-1] == pytest.approx([6.5 / 7, 6.5 / 7])


def test_decode_box_and_keypoints_by_hand():
    anchors = np.array([[0.5, 0.5], [0.25, 0.25]], dtype=np.float32)
    raw = np.zeros((2, 12), dtype=np.float32)
    raw[0, :4] = [22.4, -11.2, 44.8, 89.6]  # dx=+0.1, dy=-0.05, w=0.2, h=0.4 in 224ths
    raw[0, 4:6] = [0.0, 0.0]
    raw[0, 6:8] = [224.0, 224.0]
    scores = np.array([0.0, -1.0])  # sigmoid: 0.5 (kept, >= 0.5) and 0.27 (dropped)
    dets = decode_detections(raw, scores, anchors)
    assert len(dets) == 1
    d = dets[0]
    assert d.score == pytest.approx(0.5)
    assert d.box == pytest.approx([0.5, 0.25, 0.7, 0.65])
    assert d.keypoints[0] == pytest.approx([0.5, 0.5]) and d.keypoints[1] == pytest.approx([1.5, 1.5])


def test_weighted_nms_merges_a_cluster_by_score_and_keeps_the_rest():
    kp = np.zeros((4, 2))
    a = Detection(0.9, np.array([0.0, 0.0, 1.0, 1.0]), kp + 1.0)
    b = Detection(0.6, np.array([0.1, 0.0, 1.1, 1.0]), kp + 2.0)  # IoU with a = 0.9/1.1 > 0.3
    c = Detection(0.8, np.array([5.0, 5.0, 6.0, 6.0]), kp + 3.0)
    out = weighted_nms([b, c, a])
    assert [round(d.score, 2) for d in out] == [0.9, 0.8]
    assert out[0].box == pytest.approx([0.04, 0.0, 1.04, 1.0])  # (0.9*0 + 0.6*0.1) / 1.5
    assert out[0].keypoints[0] == pytest.approx([1.4, 1.4])  # (0.9*1 + 0.6*2) / 1.5
    assert out[1].box == pytest.approx(c.box)


def test_alignment_roi_centre_size_and_rotation():
    up = alignment_roi(np.array([100.0, 200.0]), np.array([100.0, 100.0]))
    assert (up.cx, up.cy, up.w, up.h, up.rotation) == pytest.approx((100, 200, 250, 250, 0.0))
    right = alignment_roi(np.array([100.0, 200.0]), np.array([200.0, 200.0]))
    assert right.rotation == pytest.approx(math.pi / 2)
    left = alignment_roi(np.array([100.0, 200.0]), np.array([0.0, 200.0]))
    assert left.rotation == pytest.approx(-math.pi / 2)


def test_roi_warp_and_projection_are_inverse():
    roi = Roi(120.0, 80.0, 64.0, 64.0, 0.7)
    m = roi_to_input_matrix(roi, 256, 256)
    pts = np.array([[10.0, 20.0], [128.0, 128.0], [250.0, 3.0]])
    img = input_to_image(pts, roi, 256, 256)
    back = (m[:, :2] @ img.T).T + m[:, 2]
    assert back == pytest.approx(pts)
    assert input_to_image(np.array([[128.0, 128.0]]), roi, 256, 256)[0] == pytest.approx([120.0, 80.0])


def test_heatmap_refinement_moves_to_the_confident_centre():
    hm = np.full((64, 64, 1), -10.0)
    hm[30, 41, 0] = 10.0  # one confident cell at col 41, row 30
    out = refine_from_heatmap(np.array([[40 / 64, 31 / 64]]), hm)
    # MediaPipe's formula: the weighted mean cell index over the size, no half-cell offset.
    assert out[0] == pytest.approx([41 / 64, 30 / 64], abs=1e-3)
    weak = refine_from_heatmap(np.array([[10 / 64, 10 / 64]]), hm)  # nothing confident nearby: unchanged
    assert weak[0] == pytest.approx([10 / 64, 10 / 64])


def test_participant_is_the_central_large_confident_one_and_stays_so():
    kp = np.zeros((4, 2))
    centre = Detection(0.8, np.array([0.4, 0.3, 0.6, 0.7]), kp)
    poster = Detection(0.9, np.array([0.0, 0.0, 0.1, 0.15]), kp)  # small, in a corner
    edge = Detection(0.85, np.array([0.8, 0.3, 1.0, 0.7]), kp)
    ident = lambda pts: np.asarray(pts) * 100  # noqa: E731
    assert choose_participant([poster, edge, centre], None, ident) is centre
    # Once tracked at the edge, the same person is kept even if someone more central appears.
    assert choose_participant([poster, centre, edge], Roi(90, 50, 20, 40), ident) is edge


def test_one_euro_is_still_on_constant_input_and_follows_steps():
    f = OneEuro(min_cutoff=1.0, beta=0.0)
    assert f(np.array([5.0]), 0.0) == pytest.approx([5.0])
    assert f(np.array([5.0]), 0.1) == pytest.approx([5.0])
    halfway = f(np.array([15.0]), 0.2)[0]
    assert 5.0 < halfway < 15.0
