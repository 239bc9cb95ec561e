"""Open a catalog model on the best backend and keep it running.

An Edge TPU model falls back to the CPU model of its family when the Coral is missing (one log
line saying what and how to fix it) or fails mid-session: its interpreter runs in a child process
(models/tpu_worker.py), so a segfault, an abort or a hang in the vendor library is a failure to
fall back on, not the end of inference. It tries the TPU again after `probe_every_s`, doubling the
wait after each failure up to `probe_max_s` (no crash loop), in a new child loading in the
background, and switches back when it answers. `require_tpu` turns the fallback into an error.
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
from models.tpu_worker import IsolatedInterpreter, TpuFailed

log = logging.getLogger("inference")


PROBE_MAX_S = 600.0  # the longest wait between tries at a failing Edge TPU
TPU_STEADY_S = 600.0  # an Edge TPU that ran this long before failing starts the waits afresh


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
        catalog.check_given(name, files)
        return files
    if p.is_dir():
        raise catalog.ModelError(f"--model-path {model_path} is a folder; give the .tflite file")
    catalog.check_given(name, {"model": p})
    return {"model": p}


PROPOSER = "movenet-lightning"  # proposes a torso when BlazePose's face-led detector finds nobody


def proposer(cache: str = "", threads: int = 1) -> MoveNet | None:
    """MoveNet on the CPU for BlazePose to find a person whose head is out of the picture
    (models/blazepose.py), or None when its file is not in the cache (said once in the log)."""
    try:
        path = catalog.paths(PROPOSER, cache)["model"]
    except catalog.ModelError as exc:
        log.info("%s; a person whose head is out of the picture is found only once it comes back", exc)
        return None
    return MoveNet(runtime.cpu_interpreter(str(path), threads), PROPOSER, "cpu")


def wrap(name: str, interpreters: dict[str, object], backend: str, cache: str = ""):
    """The estimator of `name`'s family around its interpreters (role -> interpreter)."""
    spec = catalog.spec(name)
    if spec.family == "movenet":
        return MoveNet(interpreters["model"], name, backend)
    if spec.family == "blazepose":
        return BlazePose(interpreters["detector"], interpreters["landmarks"], name, backend,
                         proposer=proposer(cache))
    raise catalog.ModelError(f"model family {spec.family!r} has no pipeline")


def build(name: str, files: dict[str, Path], backend: str, threads: int, device: str = "",
          library: str = runtime.EDGETPU_LIB, cache: str = ""):
    """One estimator of `name`'s family from files on `backend` ("cpu" or "edgetpu"; the Edge TPU
    interpreters run in child processes, models/tpu_worker.py)."""

    def open_(path):
        if backend == "edgetpu":
            return runtime.edgetpu_interpreter(str(path), device, library)
        try:
            return runtime.cpu_interpreter(str(path), threads)
        except ValueError as exc:  # the interpreter's word for a file that is not a TFLite model
            raise catalog.ModelError(f"{path} is not a TFLite model the runtime can load ({exc}); "
                                     f"give a .tflite file, e.g. from `silvergym models fetch {name}`") from None

    return wrap(name, {role: open_(path) for role, path in files.items()}, backend, cache)


class PendingTpu:
    """A try at the Edge TPU made while the CPU model runs: its child processes load in the
    background and `poll()` hands over the estimator once they are ready (None meanwhile), or
    raises TpuFailed. The running session never waits for it and cannot be crashed by it."""

    def __init__(self, name: str, files: dict[str, Path], device: str, library: str):
        runtime.require_edgetpu_library(library)
        self.name = name
        self.children = {role: IsolatedInterpreter(str(path), library, device) for role, path in files.items()}

    def poll(self):
        try:
            if any(child.poll() is None for child in self.children.values()):
                return None
        except TpuFailed:
            self.close()
            raise
        return wrap(self.name, self.children, "edgetpu")

    def close(self) -> None:
        for child in self.children.values():
            child.close()


class Estimator:
    """The running pose model, with the Edge TPU fallback and re-probe described above."""

    def __init__(self, model: str, model_path: str = "", cache: str = "", threads: int = 2,
                 tpu_device: str = "", require_tpu: bool = False, probe_every_s: float = 10.0,
                 tpu_opener: Callable[[], object] | None = None, clock=time.monotonic,
                 tpu_library: str = runtime.EDGETPU_LIB, probe_max_s: float = PROBE_MAX_S):
        self.spec = catalog.spec(model)
        self.clock = clock
        self.probe_every_s, self.probe_max_s = probe_every_s, probe_max_s
        self.require_tpu = require_tpu
        self.tpu_problem = ""
        self.tpu_failures = 0  # times the Edge TPU failed or could not be opened since start
        if self.spec.runtime != "edgetpu":
            if require_tpu:
                tpu_models = [n for n, s in catalog.load_catalog().items() if s.runtime == "edgetpu"]
                raise TpuRequired(f"{model} runs on the CPU only; for the Edge TPU use {', '.join(tpu_models)}")
            self._tpu_opener = None
            self.active = build(model, _files(model, model_path, cache), "cpu", threads, cache=cache)
            return
        files = _files(model, model_path, cache)
        self._tpu_opener = tpu_opener or (lambda: build(model, files, "edgetpu", threads, tpu_device, tpu_library))
        # Tries after a failure load in the background (real children); an injected opener is called as is.
        self._tpu_starter = None if tpu_opener else (lambda: PendingTpu(model, files, tpu_device, tpu_library))
        self._cpu_opener = lambda: build(self.spec.cpu_fallback, _files(self.spec.cpu_fallback, "", cache), "cpu", threads)
        self._cpu = None
        self._next_probe = 0.0
        self._probe_wait = probe_every_s
        self._pending: PendingTpu | None = None
        self._tpu_since = 0.0
        try:
            self.active = self._tpu_opener()
            self._tpu_since = clock()
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
        self.tpu_failures += 1
        if self._tpu_since and self.clock() - self._tpu_since > TPU_STEADY_S:
            self._probe_wait = self.probe_every_s  # it ran well for a while: a new fault, not a loop
        log.warning("%s. Running %s on the CPU meanwhile (slower); the Edge TPU is tried again in %.0f s",
                    why, self.spec.cpu_fallback, self._probe_wait)
        if self._cpu is None:
            self._cpu = self._cpu_opener()
        self._cpu.reset()
        self.active = self._cpu
        self._next_probe = self.clock() + self._probe_wait
        self._probe_wait = min(self._probe_wait * 2, self.probe_max_s)

    def _maybe_return_to_tpu(self) -> None:
        if self._tpu_opener is None or self.active.backend == "edgetpu":
            return
        if self._pending is not None:
            try:
                tpu = self._pending.poll()
            except TpuFailed as exc:
                self._pending = None
                self._tried_again_and_failed(str(exc))
                return
            if tpu is None:
                return  # still loading in its own process
            self._pending = None
            self._switch_to(tpu)
            return
        if self.clock() < self._next_probe:
            return
        try:
            if self._tpu_starter is not None:
                self._pending = self._tpu_starter()
                return
            self._switch_to(self._tpu_opener())
        except runtime.EdgeTpuUnavailable as exc:
            self._tried_again_and_failed(str(exc))

    def _tried_again_and_failed(self, why: str) -> None:
        if why != self.tpu_problem:
            log.warning("the Edge TPU was tried again: %s. Staying on the CPU; next try in %.0f s", why, self._probe_wait)
        else:  # said in full once; the tries themselves stay visible (they grow rarer)
            log.info("the Edge TPU was tried again and failed the same way; staying on the CPU, next try in %.0f s",
                     self._probe_wait)
        self.tpu_problem = why
        self._next_probe = self.clock() + self._probe_wait
        self._probe_wait = min(self._probe_wait * 2, self.probe_max_s)

    def _switch_to(self, tpu) -> None:
        log.info("Edge TPU is back; switching %s to it", self.spec.name)
        self.active = tpu
        self.tpu_problem = ""
        self._tpu_since = self.clock()

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
            # The child crashed, hung or failed (TpuFailed says which and the fix), or the Coral
            # browned out: keep the session going on the CPU with this very frame.
            if self.require_tpu:
                raise TpuRequired(f"Edge TPU failed during the session ({exc})") from None
            self._fall_back(str(exc) if isinstance(exc, TpuFailed) else
                            f"Edge TPU stopped answering ({type(exc).__name__}: {exc})")
            kps = self.active.estimate(bgr, t)
        latency_ms = (time.perf_counter() - start) * 1000.0
        z = getattr(self.active, "last_z", None) if len(kps) else None
        world = getattr(self.active, "last_world", None) if len(kps) else None
        return PoseResult(kps, z, latency_ms, world)


class OnePerson:
    """One-person mode as a class of one, for inference's one loop (services/inference.py): the
    Estimator's reading as the one person followed, with a track number that changes when they
    were out of view (a new person as far as anyone can tell), or nobody. The same methods and
    figures as models/group.py's GroupEstimator."""

    def __init__(self, estimator: Estimator):
        self.estimator = estimator
        self.track, self.seen = 1, False
        self.latency_ms = 0.0

    name = property(lambda self: self.estimator.name)
    backend = property(lambda self: self.estimator.backend)
    layout = property(lambda self: self.estimator.layout)
    tpu_problem = property(lambda self: self.estimator.tpu_problem)

    def reset(self) -> None:
        self.estimator.reset()
        self.track += self.seen
        self.seen = False

    def estimate(self, bgr: np.ndarray, t: float | None = None) -> list:
        from models.group import Person

        result = self.estimator.estimate(bgr, t)
        self.latency_ms = result.latency_ms
        if not len(result.keypoints):
            self.track += self.seen  # out of view: whoever comes is followed afresh
            self.seen = False
            return []
        self.seen = True
        return [Person(self.track, result.keypoints, result.world, result.z)]
