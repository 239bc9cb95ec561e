"""How close silvergym's crop and landmark model come to MediaPipe's own, tensor by tensor. Run
by hand, in two steps (not part of the suite; MediaPipe is never a dependency of silvergym):

    # 1. in MediaPipe's virtualenv (see record_mediapipe.py): MediaPipe's ImageToTensor and
    #    InferenceCalculatorCpu on each frame's recorded region; its input and output tensors
    /tmp/mpref/bin/python tests/reference/mediapipe_tensors.py dump squats_5reps /tmp/mp_squats.npz
    # 2. in the project's: our crop of the same regions, and our interpreter fed both inputs
    .venv/bin/python tests/reference/mediapipe_tensors.py compare squats_5reps /tmp/mp_squats.npz

It printed (2026-11-25): our interpreter fed MediaPipe's input tensor gives its outputs bit for
bit; our crop leaves 0.015% (squats_5reps) to 0.05% (stretch_side_view) of the values one level
apart, and the raw landmarks 0.008 px apart. Before warp() went to fixed point, 12% of the
values differed by up to 5 levels and the raw landmarks by 0.12 px.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
GRAPH = """
input_stream: "image"
input_stream: "roi"
node { calculator: "ImageToTensorCalculator" input_stream: "IMAGE:image" input_stream: "NORM_RECT:roi"
  output_stream: "TENSORS:input_tensors"
  options { [mediapipe.ImageToTensorCalculatorOptions.ext] { output_tensor_width: 256
    output_tensor_height: 256 keep_aspect_ratio: true output_tensor_float_range { min: 0 max: 1 } } } }
node { calculator: "InferenceCalculatorCpu" input_stream: "TENSORS:input_tensors" output_stream: "TENSORS:out"
  options { [mediapipe.InferenceCalculatorOptions.ext] {
    model_path: "mediapipe/modules/pose_landmark/pose_landmark_full.tflite" delegate { xnnpack {} } } } }
node { calculator: "SplitTensorVectorCalculator" input_stream: "out" output_stream: "landmarks"
  output_stream: "flag" output_stream: "segmentation" output_stream: "heatmap"
  options { [mediapipe.SplitVectorCalculatorOptions.ext] { ranges { begin: 0 end: 1 } ranges { begin: 1 end: 2 }
    ranges { begin: 2 end: 3 } ranges { begin: 3 end: 4 } } } }
node { calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:input_tensors" output_stream: "FLOATS:input" }
node { calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:landmarks" output_stream: "FLOATS:raw" }
node { calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:heatmap" output_stream: "FLOATS:heat" }
"""


def clip_and_regions(clip: str):
    ref = json.loads((REPO / "tests" / "reference" / "mediapipe" / f"{clip}.json").read_text())
    shared = Path(os.environ.get("SILVERGYM_SHARED", REPO.parent / "shared"))
    cap = cv2.VideoCapture(str(shared / "media" / ref["source"]))
    frames = []
    while (got := cap.read())[0]:
        frames.append(got[1])
    cap.release()
    return ref, [(i, bgr, f["roi"]) for i, (bgr, f) in enumerate(zip(frames, ref["frames"])) if f["roi"]]


def dump(clip: str, out: str) -> None:
    import importlib

    import mediapipe as mp
    from google.protobuf import text_format
    from mediapipe.framework import calculator_pb2
    from mediapipe.framework.formats import rect_pb2
    from mediapipe.python import packet_creator, packet_getter
    from mediapipe.python._framework_bindings import calculator_graph, resource_util

    root = Path(mp.__file__).resolve().parent.parent
    resource_util.set_resource_dir(str(root))
    for path in (root / "mediapipe").rglob("*_pb2.py"):  # the calculators' option extensions
        try:
            importlib.import_module(".".join(path.relative_to(root).with_suffix("").parts))
        except Exception:  # noqa: BLE001 - some need optional parts; only the options matter here
            pass
    ref, regions = clip_and_regions(clip)
    graph = calculator_graph.CalculatorGraph(graph_config=text_format.Parse(GRAPH, calculator_pb2.CalculatorGraphConfig()))
    got: dict = {}
    for name in ("input", "raw", "heat"):
        graph.observe_output_stream(name, lambda _s, p, n=name: got.setdefault(n, []).append(
            np.array(packet_getter.get_float_list(p), np.float32)))
    graph.start_run()
    w, h = ref["width"], ref["height"]
    for ts, (_, bgr, (cx, cy, rw, rh, rot)) in enumerate(regions, start=1):
        rect = rect_pb2.NormalizedRect(x_center=cx / w, y_center=cy / h, width=rw / w, height=rh / h, rotation=rot)
        image = packet_creator.create_image_frame(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        graph.add_packet_to_input_stream("image", image.at(ts))
        graph.add_packet_to_input_stream("roi", packet_creator.create_proto(rect).at(ts))
    graph.close()
    np.savez(out, frames=np.array([i for i, _, _ in regions]), **{k: np.stack(v) for k, v in got.items()})


def compare(clip: str, dumped: str) -> None:
    sys.path.insert(0, str(REPO))
    from models.estimator import Estimator
    from models.imageops import Roi, warp

    theirs = np.load(dumped)
    _, regions = clip_and_regions(clip)
    pose = Estimator("blazepose-full").active
    differing, raw_ours, raw_same_input = [], [], []
    for k, (_, bgr, roi) in enumerate(regions):
        ours = cv2.cvtColor(warp(bgr, Roi(*roi), 256, 256, replicate=True), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
        their_input = theirs["input"][k].reshape(256, 256, 3)
        differing.append(float((np.abs(ours - their_input) * 255 > 0.5).mean()))
        for tensor, out in ((ours, raw_ours), (their_input, raw_same_input)):
            pose.landmarker.set_tensor(pose._lm_in, tensor[None])
            pose.landmarker.invoke()
            raw = pose.landmarker.get_tensor(pose._lm_out["landmarks"]).reshape(-1, 5)[:, :2]
            out.append(float(np.abs(raw - theirs["raw"][k].reshape(-1, 5)[:, :2]).mean()))
    print(f"{clip}: crop values one level or more apart {100 * np.mean(differing):.3f}%; raw landmarks from our "
          f"crop {np.mean(raw_ours):.4f} px from MediaPipe's, from its own input {np.max(raw_same_input):.4f} px")


if __name__ == "__main__":
    os.environ.setdefault("GLOG_minloglevel", "2")
    {"dump": dump, "compare": compare}[sys.argv[1]](*sys.argv[2:])
