"""`silvergym routine build VIDEO [-o FILE]`, `routine import FILE|DIR --format F -o FILE` and
`routine list`.

A built routine has one keyframe per frame of the instructor: every joint angle, and the
reference keypoints (common skeleton, normalised to the body's height) for the instructor
figure. It keeps the instructor's video too, prepared for the TV (MJPEG, every frame its own
picture so a pause or a jump lands on the exact frame, at most PANEL_HEIGHT pixels high) in the
videos/ folder beside the routine file under its SHA-256: a moved or edited video cannot be
played out of step, it is simply missing and the TV draws the instructor instead. The joints
that count are those seen in most frames; a repetition rule is derived from the joint that
moves most. Importers read keypoints other tools produced: OpenPose BODY_25 JSON
(one file per frame), AlphaPose results JSON, COCO keypoint JSON.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from pathlib import Path

import numpy as np

from common.coach import routine as routines
from common.coach.geometry import ALL_ANGLES, joint_angles
from common.coach.keypoints import COCO17, COMMON, COMMON_INDEX
from models.catalog import sha256_of

log = logging.getLogger("routine")

# OpenPose BODY_25 index of each COCO-17 joint.
BODY25_TO_COCO = {"nose": 0, "right_shoulder": 2, "right_elbow": 3, "right_wrist": 4, "left_shoulder": 5,
                  "left_elbow": 6, "left_wrist": 7, "right_hip": 9, "right_knee": 10, "right_ankle": 11,
                  "left_hip": 12, "left_knee": 13, "left_ankle": 14, "right_eye": 15, "left_eye": 16,
                  "right_ear": 17, "left_ear": 18}


def _common_from_coco(flat: list[float]) -> np.ndarray:
    from common.coach.keypoints import to_common

    pts = np.asarray(flat, dtype=float).reshape(-1, 3)[:17]
    return to_common("coco17", pts.tolist())


def read_openpose(folder: Path) -> list[np.ndarray]:
    """One *_keypoints.json per frame, sorted by name; the first person of each frame."""
    frames = []
    for f in sorted(folder.glob("*.json")):
        people = read_keypoint_json(f, dict, "OpenPose").get("people", [])
        if not people:
            frames.append(np.zeros((len(COMMON), 3)))
            continue
        body = np.asarray(people[0]["pose_keypoints_2d"], dtype=float).reshape(-1, 3)
        coco = [body[BODY25_TO_COCO[n]].tolist() for n in COCO17]
        frames.append(_common_from_coco(sum(coco, [])))
    return frames


def read_keypoint_json(path: Path, expected: type, fmt: str):
    """The file's JSON (read as routine files are: UTF-8, a BOM accepted), when it has the shape
    `fmt` needs (a list for AlphaPose, an object for COCO); otherwise a RoutineError that names
    the format the file looks like."""
    data = routines.read_json(path)
    if not isinstance(data, expected):
        looks = "AlphaPose results (a list): use --format alphapose" if isinstance(data, list) else \
            "a COCO keypoint file (an object): use --format coco" if isinstance(data, dict) else "no keypoint format"
        raise routines.RoutineError(f"{path.name} is not {fmt} output; it looks like {looks}")
    return data


def read_alphapose(path: Path) -> list[np.ndarray]:
    """AlphaPose results: a list of {image_id, keypoints (17*3, COCO order), score}; the best
    scoring person per image, images in file order."""
    by_image: dict[str, dict] = {}
    for det in read_keypoint_json(path, list, "AlphaPose"):
        best = by_image.get(det["image_id"])
        if best is None or det.get("score", 0) > best.get("score", 0):
            by_image[det["image_id"]] = det
    return [_common_from_coco(d["keypoints"]) for d in by_image.values()]


def read_coco(path: Path) -> list[np.ndarray]:
    """COCO keypoint JSON: {"images": [...], "annotations": [{image_id, keypoints, area}]};
    the largest annotated person per image, images in their listed order."""
    data = read_keypoint_json(path, dict, "COCO keypoint")
    best: dict = {}
    for ann in data.get("annotations", []):
        if ann.get("num_keypoints", 1) and (ann["image_id"] not in best or ann.get("area", 0) > best[ann["image_id"]].get("area", 0)):
            best[ann["image_id"]] = ann
    order = [img["id"] for img in data.get("images", [])] or list(best)
    return [_common_from_coco(best[i]["keypoints"]) if i in best else np.zeros((len(COMMON), 3)) for i in order]


def poses_from_video(video: str, model: str, cache: str = "", each_frame=None,
                     changed_by: np.random.Generator | None = None) -> tuple[list, list, float]:
    """(common poses, world landmarks or None per frame, fps) of every frame of the video;
    each_frame(bgr), when given, sees every picture too (the TV's copy, in the same decode).
    changed_by: the model reads every picture changed invisibly with this generator."""
    from common.cli.pose import open_estimator
    from common.coach.keypoints import to_common, to_common_world
    from common.media import read_frames
    from models.imageops import invisibly_changed

    est = open_estimator(model, cache=cache)
    poses, worlds, times = [], [], []
    for _, t, bgr in read_frames(video):
        r = est.estimate(bgr if changed_by is None else invisibly_changed(bgr, changed_by), t)
        poses.append(to_common(est.layout, r.keypoints) if len(r.keypoints) else np.zeros((len(COMMON), 3)))
        worlds.append(to_common_world(est.layout, r.world) if r.world is not None and len(r.keypoints) else None)
        times.append(t)
        if each_frame is not None:
            each_frame(bgr)
    fps = (len(times) - 1) / times[-1] if len(times) > 1 and times[-1] > 0 else 30.0
    return poses, worlds, fps


def build_from_video(video: str, name: str, model: str, folder: Path, cache: str = "",
                     mirror: bool = False, title: dict[str, str] | None = None) -> routines.Routine:
    """What `routine build` makes of an instructor's video: the routine, with the video prepared
    for the TV in `folder`/videos (written there; the routine file is the caller's to write).
    The video is decoded once, for the model and the TV's copy alike."""
    fps, size = _video_format(video)
    copy = TvCopy(folder / "videos", fps)
    try:
        poses, worlds, fps = poses_from_video(video, model, cache, each_frame=copy.add)
        again = poses_from_video(video, model, cache, changed_by=np.random.default_rng(REREAD_SEED))[:2]
        r = build(name, poses, worlds, fps, Path(video).name, size, reread=again)
        return dataclasses.replace(r, mirror=mirror or r.mirror, video=copy.finish(), title=dict(title or {}))
    finally:
        copy.discard()


def _video_format(video: str) -> tuple[float, tuple[int, int]]:
    """The video's frame rate (as read_frames times its frames) and frame size, from its header."""
    import cv2

    cap = cv2.VideoCapture(video)
    try:
        size = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        return float(cap.get(cv2.CAP_PROP_FPS) or 30.0), size
    finally:
        cap.release()


def video_size(video: str) -> tuple[int, int]:
    """The video's frame size (width, height), from its header."""
    return _video_format(video)[1]


def write_routine(r: routines.Routine, path: Path) -> None:
    path.write_text(json.dumps(routines.to_json(r), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def build(name: str, poses: list, worlds: list, fps: float, source: str = "",
          frame_size: tuple[int, int] | None = None, reread: tuple[list, list] | None = None) -> routines.Routine:
    """The routine of an instructor's poses. reread: the same video read a second time, changed
    invisibly (poses, worlds), to leave out the joints the model cannot read the same way twice."""
    angles = [joint_angles(p, w) for p, w in zip(poses, worlds)]
    seen = {j: sum(a.get(j) is not None for a in angles) for j in ALL_ANGLES}
    joints = [j for j in ALL_ANGLES if seen[j] >= 0.7 * len(angles)]
    if not joints:
        raise routines.RoutineError(f"{source}: the person is hardly visible; no joint seen in 70 % of the frames")
    # A joint the model measures unsteadily on the instructor (arms toward the camera, a drawn
    # overlay) would call a senior wrong for the model's noise: its tolerance widens to the noise,
    # and a joint too noisy to judge at all is left out.
    noise = {j: measurement_noise([a[j] for a in angles if a.get(j) is not None]) for j in joints}
    unsteady = {j: noise[j] for j in joints if noise[j] > MAX_NOISE_DEG}
    # A joint whose two readings of the same pictures differ by more than the tolerance on one
    # frame in ten would, on its own, call a perfect participant wrong one time in ten (arms held
    # toward the camera: up to 23 deg on ../shared's squat clip).
    if reread is not None:
        again = [joint_angles(p, w) for p, w in zip(*reread)]
        for j in joints:
            differ = [abs(a[j] - b[j]) for a, b in zip(angles, again) if a.get(j) is not None and b.get(j) is not None]
            spread = float(np.percentile(differ, 90)) if differ else 0.0
            if spread > REREAD_MAX_DEG:
                unsteady[j] = max(unsteady.get(j, 0.0), spread)
    if unsteady and len(unsteady) < len(joints):
        log.info("%s: left out %s, read too unsteadily to judge (%s deg)", source or name, ", ".join(unsteady),
                 ", ".join(f"{v:.0f}" for v in unsteady.values()))
        joints = [j for j in joints if j not in unsteady]
    keyframes = []
    for i, (a, p) in enumerate(zip(angles, poses)):
        kept = {j: round(a[j], 1) for j in joints if a.get(j) is not None}
        keyframes.append({"t": round(i / fps, 3), "angles": kept, **_reference(p, frame_size)})
    data = {
        # No title unless one is given (`--title`): the TV shows a file name as no title.
        "name": name, "title": {},
        # Words for a person, never the file's name (the start screen shows this under the title).
        "description": {"ko": "화면 속 강사의 동작을 그대로 따라 해 보세요.", "en": "Follow the instructor on the screen."},
        "duration_s": round((len(poses) - 1) / fps, 3), "loop": False,
        "joints": {j: {"tolerance": round(max(15.0, noise[j]), 1), "near": round(max(30.0, 2 * noise[j]), 1)}
                   for j in joints},
        "keyframes": keyframes,
    }
    rule = _rep_rule(angles, joints)
    if rule:
        data["reps"] = rule
    return routines.parse(data, source)


MAX_NOISE_DEG = 30.0
# Reading the instructor's video twice: the second reading's pictures are changed invisibly
# (models.imageops.invisibly_changed, fixed seed so a build is repeatable), and a joint whose two
# readings differ by more than the default tolerance on one frame in ten is left out.
REREAD_SEED = 1
REREAD_MAX_DEG = 15.0


def measurement_noise(series: list[float]) -> float:
    """How unsteadily a joint angle is measured: the 90th percentile of its distance from the
    median of each three neighbouring frames (a real movement follows that median, a spike does
    not). Degrees; 0 for a series too short to tell."""
    v = np.asarray(series, dtype=float)
    if len(v) < 5:
        return 0.0
    median = np.median(np.stack([v[:-2], v[1:-1], v[2:]]), axis=0)
    return float(np.percentile(np.abs(v[1:-1] - median), 90))


def _reference(common: np.ndarray, frame_size: tuple[int, int] | None) -> dict:
    """The keyframe's reference pose: `keypoints` around the mid-hip in body heights and, for a
    video, their `anchor` in its picture (mid-hip x, y and body height as fractions of the
    picture's width and height). No keypoints when too little of the body was seen."""
    ok = common[:, 2] >= 0.3
    if ok.sum() < 5:
        return {"keypoints": None}
    hip = common[COMMON_INDEX["mid_hip"], :2]
    height = max(np.ptp(common[ok, 1]), 1.0)
    out = {"keypoints": [[round(float(x / height), 4), round(float(y / height), 4), round(float(s), 2)]
                         for (x, y), s in zip(common[:, :2] - hip, common[:, 2])]}
    if frame_size:
        w, h = frame_size
        out["anchor"] = [round(float(hip[0] / w), 4), round(float(hip[1] / h), 4), round(float(height / h), 4)]
    return out


# The TV's instructor panel is about half of a 720p screen: taller video only costs decoding.
PANEL_HEIGHT = 480
JPEG_QUALITY = 85
# The TV's copy plays at most this many frames a second: every frame shown is one MJPEG decode
# on the Pi's CPU beside the model, and a gentle exercise looks as smooth at 15 (measured:
# docs/benchmarks.md, video isolation ratio).
PLAYBACK_MAX_FPS = 15.0


class TvCopy:
    """The instructor's video as the TV plays it, written picture by picture as the source is
    read, into `videos`/<sha256>.avi (the same video prepared twice is stored once): at most
    PANEL_HEIGHT high, at most PLAYBACK_MAX_FPS, frame k showing the source's picture at k / fps."""

    def __init__(self, videos: Path, source_fps: float):
        self.videos, self.fps = videos, source_fps
        self.out_fps = min(source_fps, PLAYBACK_MAX_FPS)
        self.partial = videos / f".partial-{os.getpid()}{routines.VIDEO_SUFFIX}"
        self.size, self.count, self.written = (0, 0), 0, 0
        self._writer = None

    def add(self, bgr: np.ndarray) -> None:
        import cv2

        from common.media import InputError

        if self._writer is None:
            h, w = bgr.shape[:2]
            scale = min(1.0, PANEL_HEIGHT / h)
            self.size = (max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2))
            self.videos.mkdir(parents=True, exist_ok=True)
            self._writer = cv2.VideoWriter(str(self.partial), cv2.VideoWriter_fourcc(*"MJPG"), self.out_fps, self.size)
            if not self._writer.isOpened():
                raise InputError(f"cannot write {self.partial}: OpenCV has no MJPEG writer here")
            self._writer.set(cv2.VIDEOWRITER_PROP_QUALITY, JPEG_QUALITY)
        if int(self.count * self.out_fps / self.fps + 1e-6) >= self.written:
            self._writer.write(bgr if (bgr.shape[1], bgr.shape[0]) == self.size
                               else cv2.resize(bgr, self.size, interpolation=cv2.INTER_AREA))
            self.written += 1
        self.count += 1

    def finish(self) -> routines.InstructorVideo:
        """Close the copy and store it under its hash."""
        from common.media import InputError

        if self._writer is None:
            raise InputError(f"{self.partial.name}: the video had no pictures")
        self._writer.release()
        self._writer = None
        digest = sha256_of(self.partial)
        os.replace(self.partial, self.videos / f"{digest}{routines.VIDEO_SUFFIX}")
        return routines.InstructorVideo(sha256=digest, fps=round(self.out_fps, 4), frames=self.written,
                                        width=self.size[0], height=self.size[1])

    def discard(self) -> None:
        """Whatever was not finished is removed (a failed build leaves no partial file)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self.partial.unlink(missing_ok=True)


def video_state(r: routines.Routine) -> str:
    """What `routine list` says about a routine's video: none, present, missing or altered."""
    from common.media import instructor_video

    state, path = instructor_video(r)
    if state == "none":
        return "drawn instructor"
    if state == "missing":
        return f"video missing ({r.video.file_name} not in {path.parent})"
    if state == "altered":
        return f"video altered ({path.name} does not match its hash)"
    return f"video {r.video.width}x{r.video.height}, {r.video.frames / r.video.fps:.0f} s"


def list_routines() -> int:
    for name in routines.bundled():
        r = routines.load(name)
        print(f"{name:20s} {r.title.get('ko', '')} / {r.title.get('en', '')}  ({r.duration_s:.0f} s, drawn instructor)")
    for path in routines.stored():
        try:
            r = routines.load(str(path))
        except routines.RoutineError as exc:
            print(f"{path.stem:20s} unreadable: {exc}")
            continue
        print(f"{path.stem:20s} {r.title.get('ko', '')} / {r.title.get('en', '')}  ({r.duration_s:.0f} s, "
              f"{video_state(r)})  {path}")
    if not routines.stored():
        print(f"(no routines built here yet; `silvergym routine build VIDEO` keeps them in {routines.store_dir()})")
    return 0


def _rep_rule(angles: list[dict], joints: list[str]) -> dict | None:
    """Thresholds at 35 % / 65 % of the range of the joint that moves most (if it moves 40+ deg)."""
    ranges = {}
    for j in joints:
        values = [a[j] for a in angles if a.get(j) is not None]
        if values and j not in ("trunk_tilt",):
            ranges[j] = (np.percentile(values, 5), np.percentile(values, 95))
    if not ranges:
        return None
    j, (lo, hi) = max(ranges.items(), key=lambda kv: kv[1][1] - kv[1][0])
    if hi - lo < 40:
        return None
    first = next(a[j] for a in angles if a.get(j) is not None)
    return {"joints": [j], "low": round(lo + 0.35 * (hi - lo), 1), "high": round(lo + 0.65 * (hi - lo), 1),
            "start": "high" if first > (lo + hi) / 2 else "low", "min_rep_s": 0.5}


def titles(given: list[str]) -> dict[str, str]:
    """--title values as the routine's title per locale: "ko=…", "en=…", or plain words for Korean
    (the TV's first language). ValueError names what is wrong."""
    from common.texts import LOCALES

    out = {}
    for item in given:
        locale, sep, words = item.partition("=")
        if not sep or locale not in LOCALES:
            locale, words = "ko", item
        words = " ".join(words.split())
        if not words or len(words) > 60:
            raise ValueError(f"--title {item!r}: give the title's words (at most 60 characters), e.g. --title 스쿼트 "
                             "--title en=Squats")
        out[locale] = words
    return out


def run(args) -> int:
    from common.media import InputError
    from models.catalog import ModelError

    if args.action == "list":
        return list_routines()
    if not args.input or (args.action == "import" and not args.output):
        print("error: routine build needs a VIDEO; routine import needs INPUT and -o FILE", file=sys.stderr)
        return 2
    if not args.output:  # built into the routine store, where `--routine NAME` finds it
        args.output = str(routines.store_dir() / f"{args.name or Path(args.input).stem}.json")
        routines.store_dir().mkdir(parents=True, exist_ok=True)
    name = args.name or Path(args.output).stem
    folder = Path(args.output).resolve().parent
    if not folder.is_dir():  # said now, not after the whole video has been through the model
        print(f"error: -o {args.output}: folder {folder} does not exist; create it or write elsewhere", file=sys.stderr)
        return 2
    if Path(args.output).is_dir():
        print(f"error: -o {args.output} is a folder; give a file name, e.g. {Path(args.output) / (name + '.json')}",
              file=sys.stderr)
        return 2
    try:
        title = titles(args.title or [])
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.action == "build":
            r = build_from_video(args.input, name, args.model, folder, args.cache, args.mirror, title)
        else:
            readers = {"openpose": read_openpose, "alphapose": read_alphapose, "coco": read_coco}
            if not args.format:
                print("error: routine import needs --format openpose|alphapose|coco", file=sys.stderr)
                return 2
            if not Path(args.input).exists():
                print(f"error: {args.input} does not exist", file=sys.stderr)
                return 2
            poses = readers[args.format](Path(args.input))
            r = build(name, poses, [None] * len(poses), args.fps, Path(args.input).name)
            r = dataclasses.replace(r, mirror=args.mirror or r.mirror, title=title)
    except (InputError, ModelError, routines.RoutineError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
        # A keypoint file of the right overall shape with a wrong entry inside.
        print(f"error: {args.input}: not {args.format or 'usable'} keypoints ({type(exc).__name__}: {exc}); "
              "check --format and the file", file=sys.stderr)
        return 2
    write_routine(r, Path(args.output))
    print(f"wrote {args.output}: {len(r.keyframes)} keyframes over {r.duration_s:.1f} s, joints {', '.join(r.joints)}"
          + (f", repetitions on {r.reps.joints[0]}" if r.reps else "")
          + (f"; the instructor's video is {folder / 'videos' / r.video.file_name}" if r.video else ""))
    return 0
