"""MediaPipe BlazePose GHUM (full) on a plain TFLite interpreter, following MediaPipe's graphs:

pose_detection_cpu: letterbox to 224x224 in [-1, 1], 2254 SSD anchors, box + 4 alignment
    keypoints per anchor, sigmoid score >= 0.5, weighted non-maximum suppression (IoU 0.3).
pose_detection_to_roi: centre = keypoint 0 (mid-hip), side = 2 * |kp1 - kp0|, rotation so that
    kp0 -> kp1 points up (target 90 deg), then scaled 1.25 and made square.
pose_landmark_by_roi: the ROI warped to 256x256 in [0, 1]; 39 landmarks x (x, y, z, visibility,
    presence) with sigmoid on the last two; heatmap refinement (9x9, >= 0.5, the weighted mean of
    cell indices, no half-cell shift); projected back. World landmarks: 39 x (x, y, z) in metres,
    hip-centred, in the ROI's rotated frame, rotated back by the ROI angle (z unchanged).
pose_landmarks_to_roi: the next frame's ROI from auxiliary landmarks 33 and 34 the same way;
    the detector runs again only when the pose flag drops below 0.5 (tracking lost).
pose_landmark_filtering: One Euro filters (speed from the previous raw value). Image landmarks:
    min cutoff 0.05, beta 80, auxiliary 0.01, 10, both scaled by the person's size taken from the
    raw auxiliary landmarks (twice the hip-centre to body-top distance, in pixels). World
    landmarks: 0.1, 40, unscaled (metres). Visibility low-passed with alpha 0.1.

Deliberate differences from MediaPipe (tests/test_reference.py says where they show): which
person to follow when several are in view (choose_participant, not the top detector score), and a
lost track is looked for again on the same frame instead of the next one.

A person the picture cuts at the top (a low or close camera; tests/test_framing.py). MediaPipe's
regions lean on the head: the detector finds a person by the face and places the point above the
head, and tracking takes the next region from the landmark model's point above the head. With the
head out of the picture the detector finds nobody, or turns the region upside down, and the
tracked region shrinks to what is left until the landmark model loses the person: on
squats_5reps cut at the chin, 1 repetition of 5 counted. Given a region where the whole body would
be, the same landmark model reads the cut body well (knees and hips within 4 deg median of the
full view). So, only while the top of the body is out of the picture, the region comes from the
torso the model still sees (mid-hip, hip-to-shoulder direction, and the person's own region size
over torso length, learnt while they were whole: 4.3-5.2 on the real clips). A lost track is
looked for from the last torso before the detector; an upside-down detector region is tried the
right way up; and when the detector finds nobody, MoveNet (which does not need a face) proposes a
torso region for the landmark model to confirm. In full view none of this runs.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from common.coach.geometry import crown
from models.imageops import OneEuro, RepeatedPicture, Roi, input_to_image, roi_to_input_matrix, warp

DET_SIZE = 224
LM_SIZE = 256
MIN_DETECTION_SCORE = 0.5
NMS_IOU = 0.3
POSE_FLAG_THRESHOLD = 0.5
ROI_SCALE = 1.25
NUM_LANDMARKS = 33  # plus 6 auxiliary/ROI landmarks in the raw output (39 in all)
SHOULDERS, HIPS = [11, 12], [23, 24]
TORSO_SEEN = 0.5  # visibility of shoulders and hips needed to place a region from the torso
# Region side over torso length (mid-hip to mid-shoulder) before the person was seen whole: the
# median over the real clips in ../shared/media lies between 4.3 and 5.2.
SIDE_PER_TORSO = 4.6
UPSIDE_DOWN = math.radians(120)  # a detector region turned further than this is tried the other way up
# After a proposal that found nobody, the proposer rests this many frames: an empty room costs the
# detector alone (3.5 ms a frame here) rather than detector, MoveNet and landmarks (9.1 ms).
PROPOSER_REST_FRAMES = 10


def sigmoid(logits: np.ndarray, limit: float = 80.0) -> np.ndarray:
    """The models' logits as probabilities 0-1; clipped first, since a logit far below -80 would
    overflow exp (a numpy warning on every frame, not a wrong value)."""
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -limit, limit)))


def _calc_scale(min_scale: float, max_scale: float, index: int, count: int) -> float:
    return (min_scale + max_scale) * 0.5 if count == 1 else min_scale + (max_scale - min_scale) * index / (count - 1)


def generate_anchors(input_size: int = DET_SIZE, strides=(8, 16, 32, 32, 32), min_scale: float = 0.1484375,
                     max_scale: float = 0.75, offset: float = 0.5) -> np.ndarray:
    """SSD anchor centres (N, 2) in [0, 1], as MediaPipe's SsdAnchorsCalculator with
    aspect ratio 1.0, the interpolated extra anchor and fixed anchor size (w = h = 1)."""
    anchors = []
    layer = 0
    n = len(strides)
    while layer < n:
        per_location = 0
        last = layer
        while last < n and strides[last] == strides[layer]:
            per_location += 2  # aspect ratio 1.0 + the interpolated-scale anchor
            last += 1
        fm = math.ceil(input_size / strides[layer])
        for y in range(fm):
            for x in range(fm):
                anchors.extend([((x + offset) / fm, (y + offset) / fm)] * per_location)
        layer = last
    return np.asarray(anchors, dtype=np.float32)


@dataclass(frozen=True)
class Detection:
    score: float
    box: np.ndarray  # x0, y0, x1, y1 in letterboxed-input units [0, 1]
    keypoints: np.ndarray  # (4, 2) in the same units


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                      scale: float = DET_SIZE, min_score: float = MIN_DETECTION_SCORE) -> list[Detection]:
    """Raw (N, 12) regressors and (N,) logits -> detections above min_score (before NMS)."""
    scores = sigmoid(raw_scores.reshape(-1).astype(np.float64), 100.0)
    keep = np.nonzero(scores >= min_score)[0]
    out = []
    for i in keep:
        r = raw_boxes[i]
        ax, ay = anchors[i]
        cx, cy = r[0] / scale + ax, r[1] / scale + ay
        w, h = r[2] / scale, r[3] / scale
        kps = r[4:12].reshape(4, 2) / scale + anchors[i]
        out.append(Detection(float(scores[i]), np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]), kps))
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def weighted_nms(dets: list[Detection], iou_threshold: float = NMS_IOU) -> list[Detection]:
    """MediaPipe's WEIGHTED suppression: each cluster of overlapping detections becomes one,
    its box and keypoints the score-weighted mean, its score the best one's."""
    remaining = sorted(dets, key=lambda d: d.score, reverse=True)
    out = []
    while remaining:
        top = remaining[0]
        cluster = [d for d in remaining if _iou(top.box, d.box) > iou_threshold]
        rest = [d for d in remaining if _iou(top.box, d.box) <= iou_threshold]
        if top not in cluster:  # a degenerate (zero-area) box overlaps nothing, not even itself
            cluster.insert(0, top)
            rest = [d for d in rest if d is not top]
        w = np.array([d.score for d in cluster])
        box = (np.stack([d.box for d in cluster]) * w[:, None]).sum(0) / w.sum()
        kps = (np.stack([d.keypoints for d in cluster]) * w[:, None, None]).sum(0) / w.sum()
        out.append(Detection(top.score, box, kps))
        remaining = rest
    return out


def alignment_roi(p0: np.ndarray, p1: np.ndarray, scale: float = ROI_SCALE) -> Roi:
    """Square ROI centred on p0, side 2|p1 - p0| * scale, rotated so p0 -> p1 points up."""
    side = 2.0 * float(np.hypot(*(p1 - p0))) * scale
    rotation = math.pi / 2 - math.atan2(-(p1[1] - p0[1]), p1[0] - p0[0])
    rotation = (rotation + math.pi) % (2 * math.pi) - math.pi
    return Roi(float(p0[0]), float(p0[1]), side, side, rotation)


def refine_from_heatmap(xy_norm: np.ndarray, heatmap: np.ndarray, kernel: int = 9, min_conf: float = 0.5) -> np.ndarray:
    """Move each landmark (normalized to the crop) to the confidence-weighted centre of its
    kernel x kernel heatmap window when that window is confident enough.

    The window is 9x9 although MediaPipe's graph asks for kernel_size 7: fed MediaPipe's own
    model outputs, a 9x9 window reproduces its refined landmarks to 0.001-0.003 heatmap cells on
    every clip, a 7x7 one only to 0.04-0.06 (up to 0.73) cells (tests/test_reference.py)."""
    hh, hw, _ = heatmap.shape
    out = xy_norm.copy()
    off = (kernel - 1) // 2
    conf_map = sigmoid(heatmap)
    for i, (x, y) in enumerate(xy_norm[: heatmap.shape[2]]):
        col, row = int(x * hw), int(y * hh)
        if not (0 <= col < hw and 0 <= row < hh):
            continue
        r0, r1, c0, c1 = max(0, row - off), min(hh, row + off + 1), max(0, col - off), min(hw, col + off + 1)
        window = conf_map[r0:r1, c0:c1, i]
        total = window.sum()
        if window.max() < min_conf or total <= 0:
            continue
        rows, cols = np.mgrid[r0:r1, c0:c1]
        # MediaPipe's RefineLandmarksFromHeatmap: the weighted mean cell index over the heatmap size,
        # with no half-cell offset (adding one shifted every keypoint ~2% of body height down-right).
        out[i] = (cols * window).sum() / total / hw, (rows * window).sum() / total / hh
    return out


def choose_participant(dets: list[Detection], previous: Roi | None, to_image) -> Detection | None:
    """The participant: the detection overlapping the last known person, else the largest,
    most central, most confident one (a poster or a passer-by at the edge loses)."""
    if not dets:
        return None
    if previous is not None:
        overlaps = [(previous.iou(_box_roi(to_image(d.box.reshape(2, 2)))), d) for d in dets]
        best_iou, best = max(overlaps, key=lambda o: o[0])
        if best_iou > 0.3:
            return best

    def merit(d: Detection) -> float:
        size = math.sqrt(max(d.box[2] - d.box[0], 0) * max(d.box[3] - d.box[1], 0))
        cx, cy = (d.box[0] + d.box[2]) / 2, (d.box[1] + d.box[3]) / 2
        centrality = 1.0 - min(1.0, math.hypot(cx - 0.5, cy - 0.5) / 0.7071)
        return d.score * (0.5 + size) * (0.5 + centrality)

    return max(dets, key=merit)


def torso_roi(hip: np.ndarray, shoulder: np.ndarray, side_per_torso: float) -> Roi | None:
    """The region the landmark model wants for a person whose torso runs from `hip` to
    `shoulder` (image pixels): centred on the hip, turned so the torso points up, the side
    `side_per_torso` torso lengths. None for a torso too short to place anything."""
    torso = float(np.hypot(*(shoulder - hip)))
    if torso < 4.0:
        return None
    top = hip + (shoulder - hip) * (side_per_torso / 2 / ROI_SCALE)
    return alignment_roi(hip, top)


def upright(roi: Roi) -> Roi:
    """The same region turned half a turn."""
    return Roi(roi.cx, roi.cy, roi.w, roi.h, (roi.rotation + 2 * math.pi) % (2 * math.pi) - math.pi)


def _box_roi(corners: np.ndarray) -> Roi:
    (x0, y0), (x1, y1) = corners
    return Roi((x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0), abs(y1 - y0))


class BlazePose:
    layout = "blazepose33"

    def __init__(self, detector, landmarker, name: str = "blazepose-full", backend: str = "cpu", smooth: bool = True,
                 pick=None, proposer=None, search: bool = True):
        self.detector, self.landmarker = detector, landmarker
        # False: follow only the region given with follow() (one member of a group, models/group.py);
        # once lost, never look elsewhere in the picture, where the others are.
        self.search = search
        # A MoveNet (models/movenet.py) that proposes a torso when the detector finds nobody; None: no proposals.
        self.proposer = proposer
        self._side_per_torso: deque = deque(maxlen=90)  # the person's own, while seen whole (kept while lost)
        self._proposer_rest = 0  # frames until the proposer may run again
        self.name, self.backend, self.smooth = name, backend, smooth
        # Which detection to follow; the reference test passes MediaPipe's rule (top score).
        self.pick = pick or choose_participant
        self.anchors = generate_anchors()
        d_in, d_out = detector.get_input_details()[0], detector.get_output_details()
        self._det_in = d_in["index"]
        by_shape = {tuple(o["shape"]): o["index"] for o in d_out}
        self._det_boxes, self._det_scores = by_shape[(1, 2254, 12)], by_shape[(1, 2254, 1)]
        self._lm_in = landmarker.get_input_details()[0]["index"]
        outs = {o["name"]: o["index"] for o in landmarker.get_output_details()}
        self._lm_out = {k: outs[f"Identity{s}"] for k, s in
                        (("landmarks", ""), ("flag", "_1"), ("heatmap", "_3"), ("world", "_4"))}
        self._segmentation_out = outs.get("Identity_2")  # (1, 256, 256, 1) logits over the region read
        self.reset()

    def reset(self) -> None:
        """A new picture stream (another video, camera, or a recorded participant's session
        starting): nothing learnt before carries over, so a recording reads the same whatever the
        model saw before it (a held first picture before a session, 47 or 52 times, changed
        two_people_sports2d's arm-raise score from 66.9 to 84.0 through these two)."""
        self._side_per_torso.clear()
        self._proposer_rest = 0
        self.lose()

    def lose(self) -> None:
        """The person left the picture: look for them afresh, keeping their proportions."""
        self._roi: Roi | None = None
        self._last_person: Roi | None = None
        self._lm_filter = OneEuro(min_cutoff=0.05, beta=80.0, d_cutoff=1.0)
        self._aux_filter = OneEuro(min_cutoff=0.01, beta=10.0, d_cutoff=1.0)
        self._world_filter = OneEuro(min_cutoff=0.1, beta=40.0, d_cutoff=1.0)
        self._visibility: np.ndarray | None = None
        self._repeated = RepeatedPicture()
        self._torso: tuple[np.ndarray, np.ndarray] | None = None  # the last (hip, shoulder) seen well
        self.last_z: np.ndarray | None = None
        self.last_world: np.ndarray | None = None
        self.region_from = ""  # where the last reading's region came from (tests print it)

    def follow(self, roi: Roi) -> None:
        """Read the next frame's landmarks from `roi` (as if tracking had produced it). The
        reference test uses it to hold the landmark stage against MediaPipe's own regions."""
        self._roi = roi

    # -- detector -------------------------------------------------------------------------
    def detect(self, bgr: np.ndarray, region: Roi | None = None) -> tuple[list[Detection], Roi]:
        """All people found (after NMS) in `region` of the picture (default: all of it,
        letterboxed), in that region's units [0, 1], and the region used."""
        h, w = bgr.shape[:2]
        box = region or Roi.letterbox(w, h)
        img = warp(bgr, box, DET_SIZE, DET_SIZE)
        tensor = cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(np.float32) / 127.5 - 1.0
        self.detector.set_tensor(self._det_in, tensor[None])
        self.detector.invoke()
        raw_boxes = self.detector.get_tensor(self._det_boxes)[0]
        raw_scores = self.detector.get_tensor(self._det_scores)[0]
        return weighted_nms(decode_detections(raw_boxes, raw_scores, self.anchors)), box

    def _roi_from_detector(self, bgr: np.ndarray) -> Roi | None:
        dets, box = self.detect(bgr)

        def to_image(pts):
            return input_to_image(np.asarray(pts) * DET_SIZE, box, DET_SIZE, DET_SIZE)

        chosen = self.pick(dets, self._last_person, to_image)
        if chosen is None:
            return None
        kps = to_image(chosen.keypoints)
        return alignment_roi(kps[0], kps[1])

    # -- landmarks ------------------------------------------------------------------------
    def _landmarks(self, bgr: np.ndarray, roi: Roi):
        crop = warp(bgr, roi, LM_SIZE, LM_SIZE, replicate=True)
        tensor = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        self.landmarker.set_tensor(self._lm_in, tensor[None])
        self.landmarker.invoke()
        flag = float(self.landmarker.get_tensor(self._lm_out["flag"]).reshape(-1)[0])
        raw = self.landmarker.get_tensor(self._lm_out["landmarks"]).reshape(-1, 5)
        heatmap = self.landmarker.get_tensor(self._lm_out["heatmap"])[0]
        xy = refine_from_heatmap(raw[:, :2] / LM_SIZE, heatmap)
        pts = input_to_image(xy * LM_SIZE, roi, LM_SIZE, LM_SIZE)
        z = raw[:, 2] / LM_SIZE * roi.w
        visibility = sigmoid(raw[:, 3])
        world = self.landmarker.get_tensor(self._lm_out["world"]).reshape(-1, 3)[:NUM_LANDMARKS].astype(np.float64)
        cos, sin = math.cos(roi.rotation), math.sin(roi.rotation)
        world = np.stack([cos * world[:, 0] - sin * world[:, 1], sin * world[:, 0] + cos * world[:, 1], world[:, 2]], 1)
        return flag, pts, z, visibility, world

    def person_mask(self, bgr: np.ndarray) -> np.ndarray | None:
        """Where the person of the last estimate(bgr) is in that picture: the landmark model's own
        segmentation (its 256x256 output), as a probability 0-1 per pixel; None when that estimate
        found nobody. Read again in the region made from this picture's own landmarks (the one the
        next picture would be read in): the region a picture is read in is made from the picture
        before, and a head rising out of it was cut off the outline. Not used for coaching:
        `silvergym demo` changes only the person's pixels of a clip with it."""
        if self._roi is None or self._segmentation_out is None:
            return None
        self._landmarks(bgr, self._roi)
        logits = self.landmarker.get_tensor(self._segmentation_out)[0, :, :, 0].astype(np.float32)
        to_input = roi_to_input_matrix(self._roi, logits.shape[1], logits.shape[0])
        height, width = bgr.shape[:2]
        logits = cv2.warpAffine(logits, to_input, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=-20.0)
        return sigmoid(logits, 20.0)

    def side_per_torso(self) -> float:
        return float(np.median(self._side_per_torso)) if self._side_per_torso else SIDE_PER_TORSO

    def _proposed_roi(self, bgr: np.ndarray) -> Roi | None:
        """A region from the proposer's torso (MoveNet's COCO-17 shoulders 5, 6 and hips 11, 12)."""
        if self.proposer is None:
            return None
        if self._proposer_rest > 0:
            self._proposer_rest -= 1
            return None
        self._proposer_rest = PROPOSER_REST_FRAMES  # cleared by _read when the proposal is confirmed
        self.proposer.reset()
        kps = self.proposer.estimate(bgr)
        if not len(kps) or kps[[5, 6, 11, 12], 2].min() < TORSO_SEEN:
            return None
        return torso_roi(kps[[11, 12], :2].mean(0), kps[[5, 6], :2].mean(0), self.side_per_torso())

    def _regions(self, bgr: np.ndarray):
        """Where to look for the person, in order: the tracked region; the last torso seen; the
        detector's region, and the same upright when it came out upside down; the proposer's."""
        if self._roi is not None:
            yield "tracked", self._roi
            if self._torso is not None:
                yield "torso", torso_roi(*self._torso, self.side_per_torso())
        if not self.search:
            return
        detected = self._roi_from_detector(bgr)
        yield "detector", detected
        if detected is not None and abs(detected.rotation) > UPSIDE_DOWN:
            yield "detector upright", upright(detected)
        if detected is None or abs(detected.rotation) > UPSIDE_DOWN:
            yield "proposer", self._proposed_roi(bgr)

    def _read(self, bgr: np.ndarray):
        """The landmark model's reading of the person (image points, image z, visibility, world
        landmarks) from the first region where it finds them, or None for nobody."""
        for source, roi in self._regions(bgr):
            if roi is None:
                continue
            flag, pts, z, visibility, world = self._landmarks(bgr, roi)
            if flag >= POSE_FLAG_THRESHOLD:
                self.region_from = source
                self._proposer_rest = 0
                return pts, z, visibility, world
        self.region_from = ""
        return None

    def _next_roi(self, body: np.ndarray, visibility: np.ndarray, aux: np.ndarray) -> Roi:
        """The next frame's region: MediaPipe's, from the point above the head, unless the head has
        left the picture through its top (the person's region size over torso length is learnt
        meanwhile); from the torso while it has. A head leaving through a side (a forward fold near
        the edge) keeps MediaPipe's region, which the reference clips show is the better there."""
        roi = alignment_roi(aux[0], aux[1])
        seen = visibility[SHOULDERS + HIPS].min() >= TORSO_SEEN
        hip, shoulder = body[HIPS, :2].mean(0), body[SHOULDERS, :2].mean(0)
        self._torso = (hip, shoulder) if seen else None
        top = crown(body[0], shoulder, hip)
        if top is None or top[1] >= 0:  # the head is in the picture, or leaves it sideways (a forward fold)
            torso = float(np.hypot(*(shoulder - hip)))
            if seen and torso >= 4.0:
                self._side_per_torso.append(roi.w / torso)
            return roi
        return (torso_roi(hip, shoulder, self.side_per_torso()) if seen else None) or roi

    def estimate(self, bgr: np.ndarray, t: float | None = None):
        """(33, 3) x, y, visibility in image pixels, or empty when nobody. The image z (pixels, not
        for angles) is in `self.last_z`, the world landmarks (33, 3) in metres in `self.last_world`."""
        reading = self._repeated.reading_of(bgr, self._read)
        if reading is None:
            self.lose()
            return np.zeros((0, 3))
        pts, z, visibility, world = reading
        body, aux = pts[:NUM_LANDMARKS], pts[NUM_LANDMARKS:NUM_LANDMARKS + 2]
        if self.smooth and t is not None:
            # The person's size, as MediaPipe's OBJECT_SCALE_ROI: the alignment box of the raw
            # auxiliary landmarks (side 2 x their distance), so speed is judged relative to the body.
            scale = 2.0 * float(np.hypot(*(aux[1] - aux[0]))) or 1.0
            body = self._lm_filter(body, t, value_scale=1.0 / scale)
            aux = self._aux_filter(aux, t, value_scale=1.0 / scale)
            world = self._world_filter(world, t)
            vis = visibility[:NUM_LANDMARKS]
            self._visibility = vis if self._visibility is None else 0.1 * vis + 0.9 * self._visibility
            visibility = np.concatenate([self._visibility, visibility[NUM_LANDMARKS:]])
        self._roi = self._next_roi(body, visibility, aux)
        self._last_person = _box_roi(np.array([body[:, :2].min(0), body[:, :2].max(0)]))
        self.last_z = z[:NUM_LANDMARKS]
        self.last_world = world
        return np.concatenate([body, visibility[:NUM_LANDMARKS, None]], axis=1)
