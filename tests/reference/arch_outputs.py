"""Both models' outputs on one picture, as JSON: what `make test-boot-arm64` compares between the
arm64 runtime (inside the emulated Pi) and this machine's. Run with the project on sys.path:

    python tests/reference/arch_outputs.py PICTURE [MEDIAPIPE_REFERENCE.json]

MoveNet's 17 and BlazePose's 33 keypoints (x, y, score) on PICTURE; with a MediaPipe reference
file recorded on that picture (tests/reference/mediapipe), BlazePose's distance from MediaPipe's
landmarks run from MediaPipe's own region, as tests/test_reference.py measures it.
"""
from __future__ import annotations

import json
import platform
import sys


def outputs(picture: str, reference: str = "") -> dict:
    import cv2
    import numpy as np

    from models.estimator import Estimator
    from models.imageops import Roi

    bgr = cv2.imread(picture)
    if bgr is None:
        raise SystemExit(f"error: {picture} is not a picture OpenCV can read")
    out = {"machine": platform.machine()}
    for name in ("movenet-lightning", "blazepose-full"):
        out[name] = np.round(Estimator(name).estimate(bgr).keypoints, 3).tolist()
    if reference:
        ref = json.loads(open(reference, encoding="utf-8").read())
        expected = ref["frames"][0]
        pose = Estimator("blazepose-full").active
        pose.pick = lambda detections, previous, to_image: max(detections, key=lambda d: d.score) if detections else None
        pose.follow(Roi(*expected["roi"]))
        found = pose.estimate(bgr, None)
        image = np.linalg.norm(np.array(expected["image"])[:, :2] - found[:, :2], axis=1)
        world = np.linalg.norm(np.array(expected["world"]) - pose.last_world, axis=1)
        out["mediapipe_locked"] = {"image_mean_px": float(image.mean()), "image_p95_px": float(np.percentile(image, 95)),
                                   "world_mean_m": float(world.mean())}
    return out


if __name__ == "__main__":
    print(json.dumps(outputs(*sys.argv[1:3])))
