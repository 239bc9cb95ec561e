"""`silvergym pose INPUT`: the pose model on an image or a video, one line per frame."""
from __future__ import annotations

import json
import sys

from common.media import InputError, read_frames


def open_estimator(model: str, model_path: str = "", cache: str = "", require_tpu: bool = False):
    from models import catalog
    from models.estimator import Estimator

    return Estimator(model or catalog.default_model(), model_path, cache, require_tpu=require_tpu)


def run(args) -> int:
    from common.bus.service import setup_logging
    from common.coach.keypoints import LAYOUTS
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
                line = {"frame": i, "t": round(t, 4), "width": bgr.shape[1], "height": bgr.shape[0],
                        "model": estimator.name, "backend": estimator.backend, "keypoints": kps}
                if result.world is not None:  # models with world landmarks: metres, hip-centred
                    line["keypoints3d"] = [{"name": n, "x": round(float(p[0]), 4), "y": round(float(p[1]), 4),
                                            "z": round(float(p[2]), 4)} for n, p in zip(names, result.world)]
                print(json.dumps(line), flush=True)
            else:
                print(f"frame {i} t={t:.2f}s {bgr.shape[1]}x{bgr.shape[0]} {estimator.name} on {estimator.backend}, "
                      f"{result.latency_ms:.1f} ms" + ("" if kps else ": nobody found"))
                for k in kps:
                    print(f"  {k['name']:18s} x={k['x']:8.1f} y={k['y']:8.1f} score={k['score']:.2f}")
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
