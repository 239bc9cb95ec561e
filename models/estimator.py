"""Open a catalog model on the best backend and keep it running.

An Edge TPU model falls back to the CPU model of its family when the Coral is missing (one log
line saying what and how to fix it) or fails mid-session; it probes for the TPU again every
`probe_every_s` and switches back when it answers. `require_tpu` turns the fallback into an error.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from models import catalog, runtime
from models.blazepose import BlazePose
from models.movenet import MoveNet

log = logging.getLogger("inference")


class TpuRequired(RuntimeError):
    """--require-tpu and no usable Edge TPU; the CLI exits 3."""


@dataclass
class PoseResult:
    keypoints: np.ndarray  # (N, 3) x, y, score in image pixels; (0, 3) when nobody is in view
    z: np.ndarray | None  # image depth (pixels), not for angles
    latency_ms: float
    world: np.ndarray | None = None  # (N, 3) world landmarks in metres, hip-centred (BlazePose)


def _files(name: str, model_path: str, cache: str) -> dict[str, Path]:
    spec = catalog.spec(name)
    if not model_path:
        return catalog.paths(name, cache)
    p = Path(model_path)
    if not p.exists():
        raise catalog.ModelError(f"--model-path {model_path} does not exist")
    if spec.family == "blazepose":
        folder = p if p.is_dir() else p.parent
        files = {f.role: folder / f.name for f in spec.files}
        missing = [f.name for f in files.values() if not f.is_file()]
        if missing:
            raise catalog.ModelError(f"--model-path {model_path}: {name} needs {', '.join(missing)} in {folder}")
        return files
    if p.is_dir():
        raise catalog.ModelError(f"--model-path {model_path} is a folder; give the .tflite file")
    return {"model": p}


def build(name: str, files: dict[str, Path], backend: str, threads: int, device: str = ""):
    """One estimator of `name`'s family from files on `backend` ("cpu" or "edgetpu")."""
    spec = catalog.spec(name)

    def open_(path):
        if backend == "edgetpu":
            return runtime.edgetpu_interpreter(str(path), device)
        try:
            return runtime.cpu_interpreter(str(path), threads)
        except ValueError as exc:  # the interpreter's word for a file that is not a TFLite model
            raise catalog.ModelError(f"{path} is not a TFLite model the runtime can load ({exc}); "
                                     f"give a .tflite file, e.g. from `silvergym models fetch {name}`") from None

    if spec.family == "movenet":
        return MoveNet(open_(files["model"]), name, backend)
    if spec.family == "blazepose":
        return BlazePose(open_(files["detector"]), open_(files["landmarks"]), name, backend)
    raise catalog.ModelError(f"model family {spec.family!r} has no pipeline")


class Estimator:
    """The running pose model, with the Edge TPU fallback and re-probe described above."""

    def __init__(self, model: str, model_path: str = "", cache: str = "", threads: int = 2,
                 tpu_device: str = "", require_tpu: bool = False, probe_every_s: float = 10.0,
                 tpu_opener: Callable[[], object] | None = None, clock=time.monotonic):
        self.spec = catalog.spec(model)
        self.clock = clock
        self.probe_every_s = probe_every_s
        self.require_tpu = require_tpu
        self.tpu_problem = ""
        if self.spec.runtime != "edgetpu":
            if require_tpu:
                tpu_models = [n for n, s in catalog.load_catalog().items() if s.runtime == "edgetpu"]
                raise TpuRequired(f"{model} runs on the CPU only; for the Edge TPU use {', '.join(tpu_models)}")
            self._tpu_opener = None
            self.active = build(model, _files(model, model_path, cache), "cpu", threads)
            return
        files = _files(model, model_path, cache)
        self._tpu_opener = tpu_opener or (lambda: build(model, files, "edgetpu", threads, tpu_device))
        self._cpu_opener = lambda: build(self.spec.cpu_fallback, _files(self.spec.cpu_fallback, "", cache), "cpu", threads)
        self._cpu = None
        self._next_probe = 0.0
        try:
            self.active = self._tpu_opener()
        except runtime.EdgeTpuUnavailable as exc:
            if require_tpu:
                raise TpuRequired(f"Edge TPU required but unavailable: {exc}") from None
            self._fall_back(str(exc))

    @property
    def backend(self) -> str:
        return self.active.backend

    @property
    def layout(self) -> str:
        return self.active.layout

    @property
    def name(self) -> str:
        return self.active.name

    def _fall_back(self, why: str) -> None:
        self.tpu_problem = why
        log.warning("%s; running %s on the CPU meanwhile (slower)", why, self.spec.cpu_fallback)
        if self._cpu is None:
            self._cpu = self._cpu_opener()
        self._cpu.reset()
        self.active = self._cpu
        self._next_probe = self.clock() + self.probe_every_s

    def _maybe_return_to_tpu(self) -> None:
        if self._tpu_opener is None or self.active.backend == "edgetpu" or self.clock() < self._next_probe:
            return
        self._next_probe = self.clock() + self.probe_every_s
        try:
            tpu = self._tpu_opener()
        except runtime.EdgeTpuUnavailable:
            return
        log.info("Edge TPU is back; switching %s to it", self.spec.name)
        self.active = tpu
        self.tpu_problem = ""

    def reset(self) -> None:
        self.active.reset()

    def estimate(self, bgr: np.ndarray, t: float | None = None) -> PoseResult:
        self._maybe_return_to_tpu()
        start = time.perf_counter()
        try:
            kps = self.active.estimate(bgr, t)
        except (RuntimeError, ValueError) as exc:
            if self.active.backend != "edgetpu":
                raise
            # The USB Coral locked up or browned out: keep the session going on the CPU.
            if self.require_tpu:
                raise TpuRequired(f"Edge TPU failed during the session ({exc})") from None
            self._fall_back(f"Edge TPU stopped answering ({type(exc).__name__}: {exc})")
            kps = self.active.estimate(bgr, t)
        latency_ms = (time.perf_counter() - start) * 1000.0
        z = getattr(self.active, "last_z", None) if len(kps) else None
        world = getattr(self.active, "last_world", None) if len(kps) else None
        return PoseResult(kps, z, latency_ms, world)
