"""Where pictures come from: camera devices, video files, still images. Shared by the camera
service (a live source) and the offline commands (`pose`, `score`, `routine build`)."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".gif"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


class SourceError(RuntimeError):
    pass


def shared_dir() -> Path:
    """The development folder beside the checkout (../shared: sample clips, model files), or
    $SILVERGYM_SHARED. Never part of the product; bench and demo use it when it is there."""
    return Path(os.environ.get("SILVERGYM_SHARED") or Path(__file__).resolve().parents[2] / "shared")


def source_kind(source: str) -> str:
    if source.isdigit() or source.startswith("/dev/video"):
        return "device"
    suffix = Path(source).suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    raise SourceError(f"camera.source {source!r}: not a device index, /dev/videoN, video or image file")


def slow_reading_case(camera) -> str:
    """Which fix there is, beside the Coral, when the box reads the person too few times a second,
    for this camera.source (config.CameraConfig): "camera" (a smaller capture), "video" (a file
    played in real time: a video file has no resolution to set, but played at its own pace every
    picture is read) or "model" (a file read picture by picture already: a lighter model)."""
    try:
        kind = source_kind(camera.source) if camera.source not in ("auto", "sim") else "device"
    except SourceError:
        kind = "device"
    if kind == "video":
        return "model" if camera.start_with_session else "video"
    return "camera"


def slow_reading_fix(camera, picture: tuple[int, int] | None = None) -> str:
    """slow_reading_case's fix in the log's words; `picture`, the size the pictures came at (a
    camera may give another than camera.width x height asks for)."""
    w, h = picture if picture and picture[0] else (camera.width, camera.height)
    return {"video": ("play the video file at its own pace: camera.start_with_session = true reads every picture "
                      "(as `silvergym run --once --video` and `silvergym score` do)"),
            "model": ("a lighter model (inference.model, `silvergym models list`): the video file is already read "
                      "picture by picture"),
            "camera": f"a smaller camera resolution (camera.width x height, the pictures now {w}x{h})",
            }[slow_reading_case(camera)]


def first_camera() -> str | None:
    devices = sorted(Path("/dev").glob("video*"))
    return str(devices[0]) if devices else None


class InputError(RuntimeError):
    pass


def read_frames(path: str) -> Iterator[tuple[int, float, np.ndarray]]:
    """(index, seconds, bgr) for every frame of an image or a video; InputError if unreadable."""
    if not Path(path).is_file():
        raise InputError(f"input {path} does not exist or is not a file")
    if Path(path).suffix.lower() in IMAGE_SUFFIXES:
        img = cv2.imread(path)
        if img is None:
            raise InputError(f"input {path} is not a readable image")
        yield 0, 0.0, img
        return
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise InputError(f"input {path} is not a readable image or video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    announced = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)  # from the container's header; 0 or -1 if unknown
    i = 0
    try:
        while True:
            ok, img = cap.read()
            if not ok:
                break
            yield i, i / fps, img
            i += 1
    finally:
        cap.release()
    if i == 0:
        raise InputError(f"input {path} has no frames that can be decoded")
    if announced > i + max(2, announced // 50):  # a frame or two of slack: headers round
        logging.getLogger("media").warning(
            "%s ended after %d of the %d frames its header announces: the file looks truncated (a copy "
            "cut short?); what was read is used", path, i, announced)


def instructor_video(routine) -> tuple[str, Path | None]:
    """The state of a routine's instructor video and where it should be: "none" (the routine
    has no video: the instructor is drawn), "missing", "altered" (not the file the routine was
    built with, so it would play out of step) or "ok". The TV and `routine list` both ask here."""
    from common.coach.routine import video_path
    from models.catalog import sha256_of

    path = video_path(routine)
    if routine.video is None or path is None:
        return "none", path
    if not path.is_file():
        return "missing", path
    if sha256_of(path) != routine.video.sha256:
        return "altered", path
    return "ok", path
