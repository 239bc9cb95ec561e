"""Group mode: every person in view, each followed in their own region, each keeping their spot.

How MediaPipe's PoseLandmarker follows several people (num_poses): the detector when someone is
new or lost, then each person's landmarks from their own tracked region. The same here, with one
pose model per person sharing the interpreters: BlazePose (models/blazepose.py) or MoveNet, which
then runs once per person's region. With the Coral, MoveNet runs on the Edge TPU in the child
process of models/tpu_worker.py, which all members share; if it fails, they all go on with the CPU
MoveNet from the same frame, and the Edge TPU is tried again as one person's Estimator tries it
(after 10 s, doubling, in a child loading in the background). New people are looked for with BlazePose's detector over square
tiles of the picture (a whole wide picture letterboxed into the detector's 224 pixels leaves a
class of seniors too small to find: on three real clips side by side it found one of three, the
tiles find all three); the detector runs when someone was lost on this frame, when fewer people
than expected are followed, and at most every `detect_every_s` to catch a late joiner; each pass
looks in the coarse squares and a slice of the fine ones in turn (after a cut, a pass on each
picture until all were looked in), so no picture's reading waits for the whole fine sweep.

What is followed: whoever the landmark model confirms as a body (its pose flag, or MoveNet's
torso); a coat on a chair is not. Everyone followed is given out with their track (inference
publishes them all); who of them is in the class, and at which spot, is decided downstream by
common/coach/spots.py's ClassRoll (scoring and `silvergym score` alike): with the class's routine,
the people doing it (a passer-by or someone watching is followed but gets no spot); people down to
its MIN_SIZE_SHARE of the largest torso (further from the camera).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from common.coach.keypoints import COMMON_INDEX, to_common
from common.coach.spots import MIN_SIZE_SHARE, same_body, someone_else, travelling  # noqa: F401 (MIN_SIZE_SHARE: the tests' figure)
from models import catalog, runtime
from models.estimator import PROBE_MAX_S, TpuRequired
from models.blazepose import DET_SIZE, UPSIDE_DOWN, BlazePose, alignment_roi, upright, weighted_nms, Detection
from models.imageops import Roi, input_to_image
from models.movenet import MoveNet
from models.tpu_worker import IsolatedInterpreter, TpuFailed

log = logging.getLogger("inference")

MIN_SCORE = 0.3  # keypoints above this count toward a body's height
EXTRA_FOLLOWED = 2  # people followed beyond the class's size: passers-by, an instructor
# Fine detector squares looked in per pass (beside the coarse ones): a pass's cost stays near a few
# coarse ones, whatever the picture's width.
FINE_PER_PASS = 4
DETECTOR_MODEL = "blazepose-full"  # whose detector finds the people in group mode, whatever the pose model


@dataclass
class Person:
    track: int  # this reading's follower, for the whole time it is followed (1 and up)
    keypoints: np.ndarray  # (N, 3) x, y, score in image pixels, the model's native layout
    world: np.ndarray | None  # (N, 3) world landmarks in metres (BlazePose), else None
    z: np.ndarray | None = None  # (N,) the model's image depth per keypoint, if it gives one


@dataclass
class Member:
    """One person followed (in the class or not: ClassBook says)."""
    model: object  # its own BlazePose or MoveNet, sharing the interpreters
    since: float  # when it was first read
    size: float = 0.0  # its largest torso so far, pixels (body_size)
    at: tuple | None = None  # (centre x, centre y, height) of its seen keypoints on its last reading, pixels


# A person lost in place (hidden behind a neighbour or a passer-by) is looked for where they were,
# on every detector pass, for this long: a square around their last place before the sweep's. The
# sweep alone looks in a far person's fine square once every several passes (21 fine squares on a
# 1280x720 picture, 4 a pass, a pass a second): a squatter at 0.4x back in view at 8.4 s after a
# passer-by hid her was found again at 9.87 s and one of her squats went uncounted (BlazePose, a
# composed room of real clips).
LOOK_AGAIN_S = 20.0


def body_size(layout: str, keypoints: np.ndarray) -> float:
    """The person's size in the picture, in pixels, whatever their pose: the torso's length
    (mid-shoulder to mid-hip). A body's extent would not do: a crouch, a squat or a senior seated
    in a standing class is far shorter than the one beside them, yet no smaller a person."""
    common = to_common(layout, keypoints)
    neck, hip = common[COMMON_INDEX["neck"]], common[COMMON_INDEX["mid_hip"]]
    if min(neck[2], hip[2]) < MIN_SCORE:
        return 0.0
    return float(np.hypot(*(neck[:2] - hip[:2])))


def mid_x(keypoints: np.ndarray) -> float:
    seen = keypoints[keypoints[:, 2] >= MIN_SCORE]
    return float(np.median(seen[:, 0])) if len(seen) else float(keypoints[:, 0].mean())


def tiles(width: int, height: int, fine: bool = False) -> list[Roi]:
    """Where the detector looks: the whole picture when it is about square, else squares of the
    picture's height stepping half a square across it. `fine`: squares of half the picture's
    height stepping half a square across and down, for people further back (0.4x of the nearest:
    on a composed room of real clips the coarse squares missed a far person standing with her
    arms down on every frame, the fine ones found her on each)."""
    side = height / 2 if fine else float(height)
    if not fine and width <= 1.2 * height:
        return [Roi.letterbox(width, height)]
    out = []
    for cy in _steps(height, side):
        out += [Roi(cx, cy, side, side) for cx in _steps(width, side)]
    return out


def _steps(length: float, side: float) -> list[float]:
    """Centres of squares of `side` half a square apart covering `length`."""
    out, x = [], 0.0
    while True:
        c = min(x + side / 2, length - side / 2)
        out.append(c)
        if c >= length - side / 2:
            return out
        x += side / 2


class GroupEstimator:
    """`estimate(bgr, t)` -> [Person] by track; `detector_runs` counts the detector's passes.

    Everyone the detector finds and the landmark model confirms is followed (up to `max_people`
    plus EXTRA_FOLLOWED: a passer-by must not take a member's place in the follower). Spots are
    not given here: common/coach/spots.py's ClassRoll gives them, downstream, from every track.
    The detector looks again at once when a track is lost, when a track's torso suddenly grows
    (its follower slid onto someone nearer) or when a track starts walking (the person it followed
    may have been left behind): the ClassBook lets such a member go, and they are to be found again;
    for LOOK_AGAIN_S every pass looks around the place where they were lost first.
    A first reading on a detector's rough region can be short, so sizes are each track's largest."""

    def __init__(self, model: str, cache: str = "", threads: int = 2, max_people: int = 4,
                 detect_every_s: float = 1.0, probation_s: float = 0.5, model_path: str = "",
                 tpu_device: str = "", tpu_library: str = runtime.EDGETPU_LIB, require_tpu: bool = False,
                 probe_every_s: float = 10.0, probe_max_s: float = PROBE_MAX_S, clock=time.monotonic):
        spec = catalog.spec(model)
        # One Edge TPU policy with one person's Estimator (models/estimator.py): on a failure the
        # class goes on with the CPU MoveNet and the TPU is tried again after probe_every_s,
        # doubling up to probe_max_s, in a child loading in the background; back once it answers.
        self.clock, self.probe_every_s, self.probe_max_s = clock, probe_every_s, probe_max_s
        self._probe_wait, self._next_probe, self._pending = probe_every_s, 0.0, None
        self._tpu = None  # (model name, file, device, library) of the Edge TPU model, when the catalog's model is one
        self.tpu_failures = 0
        self.max_people, self.detect_every_s, self.probation_s = max_people, detect_every_s, probation_s
        self.require_tpu = require_tpu  # an Edge TPU failure ends inference (TpuRequired), as with one person
        self.cache, self.threads, self.tpu_problem = cache, threads, ""
        det_files = catalog.paths(DETECTOR_MODEL, cache)
        detector = runtime.cpu_interpreter(str(det_files["detector"]), threads)
        landmarker = runtime.cpu_interpreter(str(det_files["landmarks"]), threads)
        self.finder = BlazePose(detector, landmarker, search=False)  # its detector finds newcomers
        self.backend = ""
        if spec.runtime == "edgetpu":
            # With the Coral, MoveNet runs once per person's region on the Edge TPU, in the child
            # process that keeps vendor crashes out of this one (models/tpu_worker.py); the detector
            # that finds newcomers stays on the CPU (it runs about once a second).
            try:
                path = model_path or str(catalog.paths(spec.name, cache)["model"])
                self._tpu = (spec.name, path, tpu_device, tpu_library)
                self._use_movenet(spec.name, runtime.edgetpu_interpreter(path, tpu_device, tpu_library), "edgetpu")
            except runtime.EdgeTpuUnavailable as exc:
                self.tpu_problem = str(exc)
                self._schedule_probe()
                log.warning("%s. Group mode runs %s on the CPU meanwhile (slower: fewer people at full speed); "
                            "the Edge TPU is tried again in %.0f s", exc, spec.cpu_fallback, self.probe_every_s)
                spec = catalog.spec(spec.cpu_fallback)
        if self.backend != "edgetpu":
            self._on_cpu(spec, detector, landmarker)
        self.detector_runs = 0
        self.latency_ms = 0.0
        self.reset()

    def _on_cpu(self, spec, detector, landmarker) -> None:
        if spec.family == "blazepose":  # the members share the finder's interpreters
            self.name, self.layout, self.backend = spec.name, spec.layout, "cpu"
            self._model = lambda: BlazePose(detector, landmarker, spec.name, "cpu", search=False)
        elif spec.family == "movenet":
            path = str(catalog.paths(spec.name, self.cache)["model"])
            self._use_movenet(spec.name, runtime.cpu_interpreter(path, self.threads), "cpu")
        else:
            raise catalog.ModelError(f"model family {spec.family!r} has no group pipeline")

    def _use_movenet(self, name: str, interpreter, backend: str) -> None:
        self.name, self.layout, self.backend = name, MoveNet.layout, backend
        self.interpreter = interpreter  # the one all members share (the Edge TPU's child process on the Coral)
        self._model = lambda: MoveNet(interpreter, name, backend, search=False)

    def _fall_back_to_cpu(self, why: str):
        """The Edge TPU crashed, hung or failed during the class: every member goes on with the CPU
        MoveNet from where it was (the class is not interrupted); the TPU is tried again later."""
        fallback = catalog.spec(catalog.spec(self.name).cpu_fallback)
        self.tpu_problem = why
        self._schedule_probe()
        log.warning("%s. Following the class with %s on the CPU meanwhile (slower); the Edge TPU is tried again "
                    "in %.0f s", why, fallback.name, self._next_probe - self.clock())
        cpu = runtime.cpu_interpreter(str(catalog.paths(fallback.name, self.cache)["model"]), self.threads)
        self._use_movenet(fallback.name, cpu, "cpu")
        for member in self.members.values():
            member.model.use(cpu, "cpu")
        return cpu

    def _schedule_probe(self) -> None:
        self.tpu_failures += 1
        self._next_probe = self.clock() + self._probe_wait
        self._probe_wait = min(self._probe_wait * 2, self.probe_max_s)

    def _maybe_return_to_tpu(self) -> None:
        """On the CPU after an Edge TPU failure: start a try when it is due (a child process loading
        in the background; the class never waits for it), and once it answers, every member reads
        the next frame on the Edge TPU again."""
        if self._tpu is None or self.backend == "edgetpu":
            return
        name, path, device, library = self._tpu
        if self._pending is None:
            if self.clock() < self._next_probe:
                return
            try:
                runtime.require_edgetpu_library(library)
                self._pending = IsolatedInterpreter(path, library, device)
            except runtime.EdgeTpuUnavailable as exc:
                self._tried_again_and_failed(str(exc))
            return
        try:
            if self._pending.poll() is None:
                return  # still loading in its own process
        except TpuFailed as exc:
            self._pending = None
            self._tried_again_and_failed(str(exc))
            return
        tpu, self._pending = self._pending, None
        log.info("Edge TPU is back; the class goes on with %s on it", name)
        self.tpu_problem = ""
        self._use_movenet(name, tpu, "edgetpu")
        for member in self.members.values():
            member.model.use(tpu, "edgetpu")

    def _tried_again_and_failed(self, why: str) -> None:
        log.info("the Edge TPU was tried again: %s; the class stays on the CPU, next try in %.0f s", why,
                 self._probe_wait)
        self.tpu_problem = why
        self._schedule_probe()

    def _read(self, model, bgr: np.ndarray, t: float) -> np.ndarray:
        try:
            return model.estimate(bgr, t)
        except (RuntimeError, ValueError) as exc:
            if self.backend != "edgetpu":
                raise
            if self.require_tpu:  # the same policy as one person's Estimator: no silent CPU class
                raise TpuRequired(f"Edge TPU failed during the class ({exc})") from None
            cpu = self._fall_back_to_cpu(str(exc) if isinstance(exc, TpuFailed) else
                                         f"Edge TPU stopped answering ({type(exc).__name__}: {exc})")
            model.use(cpu, "cpu")  # a newcomer being started is not a member yet
            return model.estimate(bgr, t)

    def reset(self) -> None:
        """Follow nobody (a cut: a new source, a looping file's next play). The track numbers go on:
        a track is one person's reading from one stretch, and downstream (ClassRoll, scoring) knows
        a person by it. Numbered from 1 again, the next play's first found took the number of the
        last play's, and the roll saw one track jump across the cut (a dancer's jump back to her
        first pose read as squats made her a member live, under load)."""
        self.members: dict[int, Member] = {}  # track -> member
        self._next_track = getattr(self, "_next_track", 1)
        self._last_detect_t: float | None = None
        # The detector's passes since the cut: which fine squares a pass looks in (below) goes by
        # them, not by all passes ever, so a recording reads the same whatever came before it. A
        # recorded class's held first picture, read a varying number of times before its clip plays,
        # made the clip's first pass coarse or fine from run to run: two_people_sports2d's jumper
        # 72.7 (as `score`) or 88.6/88.7 with 2 frames fewer (BlazePose).
        self._passes = 0
        self._fine_next = 0  # the next fine square to look in
        self._sweeping = True  # after a cut: a pass on every picture until every fine square was looked in
        # Each track's usual torso (spots.someone_else) and recent hips (spots.travelling).
        self.first_seen, self.usual, self.grown, self.hips, self.walking = {}, {}, {}, {}, set()
        self.lost_at: list[tuple[float, float, float, float]] = []  # (when, x, y, height) of people lost (LOOK_AGAIN_S)

    def _find(self, bgr: np.ndarray) -> list[Roi]:
        """Regions (MediaPipe's alignment regions, upright) of the people the detector finds."""
        self.detector_runs += 1
        self._passes += 1
        height, width = bgr.shape[:2]
        found: list[Detection] = []
        # Coarse squares every pass, and the next FINE_PER_PASS of the fine ones (people further
        # back), in turn. All the fine squares in one pass (21 on a 1768x994 picture) took 1-3 s on a
        # loaded box: nobody was read meanwhile, a member's jumping jacks went unseen, and under load
        # nobody was admitted (issue 44: a looping two_people_sports2d live, no member in 150 s).
        # (Only where half the picture's height is at least the detector's input: a smaller square
        # is scaled up, which adds no detail, only false finds.)
        fine = tiles(width, height, fine=True) if height / 2 >= DET_SIZE else []
        # Where someone was lost is looked in first, in place of some of the pass's fine squares (a
        # pass costs what it did; at least one fine square a pass keeps the sweep going).
        again = [] if self._sweeping else self._where_lost(width, height)  # sweeping: every square, every picture
        start = self._fine_next % max(len(fine), 1)
        some = (fine + fine)[start:start + min(max(FINE_PER_PASS - len(again), 1), len(fine))]
        self._fine_next = start + len(some)
        if self._fine_next >= len(fine):
            self._fine_next, self._sweeping = 0, False  # every fine square looked in since the cut
        for tile in again + tiles(width, height) + some:
            dets, region = self.finder.detect(bgr, tile)
            for d in dets:
                kps = input_to_image(d.keypoints * DET_SIZE, region, DET_SIZE, DET_SIZE)
                box = input_to_image(d.box.reshape(2, 2) * DET_SIZE, region, DET_SIZE, DET_SIZE).reshape(-1)
                found.append(Detection(d.score, box / max(width, height), kps))
        rois = []
        for d in weighted_nms(found):  # one person seen in two overlapping tiles is one person
            roi = alignment_roi(d.keypoints[0], d.keypoints[1])
            rois.append(upright(roi) if abs(roi.rotation) > UPSIDE_DOWN else roi)
        return rois

    def _start(self, bgr: np.ndarray, t: float, roi: Roi):
        model = self._model()
        model.follow(roi if isinstance(model, BlazePose) else Roi(roi.cx, roi.cy, roi.w, roi.w))
        kps = self._read(model, bgr, t)
        return (model, kps) if len(kps) else None

    def estimate(self, bgr: np.ndarray, t: float) -> list[Person]:
        self._maybe_return_to_tpu()
        start = time.perf_counter()
        readings: dict[int, np.ndarray] = {}
        lost = False
        for track, member in list(self.members.items()):
            kps = self._read(member.model, bgr, t)
            if not len(kps):
                if track not in self.walking and t - member.since >= self.probation_s:
                    # lost in place (hidden); not one walking out, nor a find the model lost at once
                    # (dumbbells on the floor, found and lost on every pass when looked for again)
                    self._lost_at(t, member.at)
                self._drop(track)
                lost = True
                continue
            readings[track] = kps
            member.size = max(member.size, body_size(self.layout, kps))
            lost = self._slid_or_walks(track, t, kps) or lost
            member.at = _place(kps)
        lost = self._drop_second_readings(readings) or lost
        # After a cut (the class's start, a new source, a looping file's next play) everyone is
        # looked for on each picture until every fine square was: people are found as soon as
        # before, a slice of the squares per picture, with the followed read between the slices.
        due = self._sweeping or self._last_detect_t is None or t - self._last_detect_t >= self.detect_every_s
        if len(self.members) < self.max_people + EXTRA_FOLLOWED and (lost or due):
            self._last_detect_t = t
            for roi in self._find(bgr):
                if len(self.members) >= self.max_people + EXTRA_FOLLOWED or _inside((roi.cx, roi.cy), readings.values()):
                    continue  # someone followed already (a detection's mid-hip on their body)
                started = self._start(bgr, t, roi)
                if started is None or _inside(_centre(started[1]), readings.values()):
                    continue  # nobody the landmark model confirms, or a second reading of someone followed
                track, self._next_track = self._next_track, self._next_track + 1
                self.members[track] = Member(started[0], t, body_size(self.layout, started[1]), _place(started[1]))
                self._found_at(_place(started[1]))
                readings[track] = started[1]
        self.latency_ms = (time.perf_counter() - start) * 1000.0  # the whole class's reading of this picture
        return [Person(track, kps, getattr(self.members[track].model, "last_world", None),
                       getattr(self.members[track].model, "last_z", None))
                for track, kps in readings.items()]

    def _lost_at(self, t: float, place) -> None:
        """Someone was lost at `place`: look for them there on each detector pass for LOOK_AGAIN_S."""
        self.lost_at = [p for p in self.lost_at if t - p[0] < LOOK_AGAIN_S]
        if place is not None:
            self.lost_at.append((t, *place))

    def _found_at(self, place) -> None:
        """Someone new followed where a person was lost: that place is looked in no more."""
        if place is None:
            return
        x, y, _ = place
        self.lost_at = [p for p in self.lost_at if max(abs(p[1] - x), abs(p[2] - y)) > p[3] / 2]

    def _where_lost(self, width: int, height: int) -> list[Roi]:
        """Squares around the places people were lost (twice their height, at least the fine
        squares' half picture height, at most the picture's height), inside the picture; none
        where the picture has no fine squares (the coarse ones are as fine as it gets)."""
        if height / 2 < DET_SIZE:
            return []
        out = []
        for _, x, y, h in self.lost_at[-self.max_people:]:
            side = min(max(2.0 * h, height / 2), float(height), float(width))
            out.append(Roi(min(max(x, side / 2), width - side / 2), min(max(y, side / 2), height - side / 2), side, side))
        return out

    def _slid_or_walks(self, track: int, t: float, kps: np.ndarray) -> bool:
        """Whether this reading says the person the track followed may be lost: its torso grew
        suddenly (someone nearer passed in front) or it started walking (SpotBook and ClassBook let
        such a member go; the detector is to find them again at once, not a second later)."""
        common = to_common(self.layout, kps)
        size = body_size(self.layout, kps)
        hip = common[COMMON_INDEX["mid_hip"]]
        hips = self.hips.setdefault(track, [])
        if size > 0 and hip[2] >= MIN_SCORE:
            hips.append((t, float(hip[0]), size))
            del hips[:-60]
        walks = travelling(hips, t)
        started = walks and track not in self.walking
        (self.walking.add if walks else self.walking.discard)(track)
        return someone_else(self, track, t, size, self.probation_s) or started

    def _drop_second_readings(self, readings: dict[int, np.ndarray]) -> bool:
        """Drop a follower that reads the same body as an older one (spots.same_body): a follower
        left on a chair or a plant slides onto the person beside it, and the two read one person
        from then on (MoveNet, a composed room of two real squat clips: two spots and two sessions
        for one man). The older track is kept: the one that found them first (downstream, their
        spot's). Whether any was dropped."""
        commons = {track: to_common(self.layout, kps) for track, kps in readings.items()}
        kept: list[int] = []
        for track in sorted(commons):
            if any(same_body(commons[track], commons[older]) for older in kept):
                self._drop(track)
                del readings[track]
            else:
                kept.append(track)
        return len(kept) < len(commons)

    def _drop(self, track: int) -> None:
        self.members.pop(track)
        for kept in (self.first_seen, self.usual, self.grown, self.hips):
            kept.pop(track, None)
        self.walking.discard(track)


def _place(kps: np.ndarray) -> tuple[float, float, float] | None:
    """(centre x, centre y, height) of a reading's seen keypoints, pixels; None with none seen."""
    seen = kps[kps[:, 2] >= MIN_SCORE, :2]
    if not len(seen):
        return None
    return (float(seen[:, 0].min() + seen[:, 0].max()) / 2, float(seen[:, 1].min() + seen[:, 1].max()) / 2,
            float(seen[:, 1].max() - seen[:, 1].min()))


def _centre(kps: np.ndarray) -> tuple[float, float]:
    seen = kps[kps[:, 2] >= MIN_SCORE, :2]
    return tuple(np.median(seen, axis=0)) if len(seen) else tuple(kps[0, :2])


def _inside(point, bodies) -> bool:
    """Whether `point` lies within the box of any of these bodies' seen keypoints."""
    x, y = point
    for kps in bodies:
        seen = kps[kps[:, 2] >= MIN_SCORE, :2]
        if len(seen) and seen[:, 0].min() <= x <= seen[:, 0].max() and seen[:, 1].min() <= y <= seen[:, 1].max():
            return True
    return False
