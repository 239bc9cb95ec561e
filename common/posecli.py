"""`silvergym pose INPUT`: the pose model on an image or a video, one line per frame."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


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


def open_estimator(model: str, model_path: str = "", cache: str = "", require_tpu: bool = False):
    from models import catalog
    from models.estimator import Estimator

    return Estimator(model or catalog.default_model(), model_path, cache, require_tpu=require_tpu)


def run(args) -> int:
    from common.keypoints import LAYOUTS
    from common.service import setup_logging
    from models.catalog import ModelError
    from models.estimator import TpuRequired

    setup_logging("pose", stream=sys.stderr)
    try:
        estimator = open_estimator(args.model, args.model_path, args.cache, args.require_tpu)
    except TpuRequired as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    names = LAYOUTS[estimator.layout]
    try:
        for i, t, bgr in read_frames(args.input):
            result = estimator.estimate(bgr, t)
            kps = [{"name": n, "x": round(float(p[0]), 2), "y": round(float(p[1]), 2), "score": round(float(p[2]), 4)}
                   for n, p in zip(names, result.keypoints)]
            if args.json:
                print(json.dumps({"frame": i, "t": round(t, 4), "width": bgr.shape[1], "height": bgr.shape[0],
                                  "model": estimator.name, "backend": estimator.backend, "keypoints": kps}), flush=True)
            else:
                print(f"frame {i} t={t:.2f}s {bgr.shape[1]}x{bgr.shape[0]} {estimator.name} on {estimator.backend}, "
                      f"{result.latency_ms:.1f} ms" + ("" if kps else ": nobody found"))
                for k in kps:
                    print(f"  {k['name']:18s} x={k['x']:8.1f} y={k['y']:8.1f} score={k['score']:.2f}")
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
