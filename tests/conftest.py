"""Shared fixtures. Tier 2/3 fixtures fail their teardown on a leaked socket or process."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zmq

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SILVERGYM_SHARED") or REPO.parent / "shared")
MEDIA = SHARED / "media"
SHARED_MODELS = SHARED / "models"

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def media_file(name: str) -> Path:
    path = MEDIA / name
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared/media holds the sample clips; not part of the repo)")
    return path


_READ_POSES: dict = {}  # (video path, model) -> poses_from_video's answer, for the whole test run


def poses_of_video(path: str | Path, model: str) -> tuple[list, list, float]:
    """poses_from_video(path, model), read by the model once per test run: several modules read
    the same real clips with the same models (minutes each on a small machine). Each caller gets
    its own copies of the arrays, so one module's changes never reach another."""
    from common.cli.routine import poses_from_video

    key = (str(Path(path).resolve()), model)
    if key not in _READ_POSES:
        _READ_POSES[key] = poses_from_video(str(path), model)
    poses, worlds, fps = _READ_POSES[key]
    return [p.copy() for p in poses], [None if w is None else w.copy() for w in worlds], fps


def clip_poses():
    """A getter (clip, model) -> (poses, worlds, fps, (width, height)) of a real clip in ../shared/media,
    each read by the model once per test run (poses_of_video) and kept per getter (a module's fixture keeps one)."""
    from common.cli.routine import video_size

    cache: dict = {}

    def get(clip: str, model: str):
        if (clip, model) not in cache:
            path = media_file(clip)
            cache[clip, model] = (*poses_of_video(path, model), video_size(str(path)))
        return cache[clip, model]

    return get


def dev_clip_reader():
    """A getter (clip, model) of a clip in ../shared/media/dev, as clip_poses gives it, that skips the
    test (naming the model) when this machine has not fetched the model."""
    get = clip_poses()

    def read(clip: str, model: str):
        from models import catalog

        try:
            catalog.paths(model)
        except catalog.ModelError as exc:
            pytest.skip(f"{exc} (make test fetches it)")
        return get(f"dev/{clip}.mp4", model)

    return read


CANVAS_SIZE = (1280, 720)


@pytest.fixture(scope="module")
def canvas():
    """A 720p surface to draw the TV's screens on headless (SDL's dummy driver) and the fonts the
    renderer draws with."""
    import pygame

    from services.renderer.text import Fonts, find_font

    pygame.display.init()
    pygame.font.init()
    surface = pygame.Surface(CANVAS_SIZE)
    yield surface, Fonts(find_font(), CANVAS_SIZE[1])
    pygame.quit()


@pytest.fixture(scope="session")
def person_clip(tmp_path_factory) -> Path:
    """A clip of a drawn person doing arm raises (10 fps, 320x240, 6 s), made here: the core
    tests' camera source, so graph, fault and supervisor tests run on a fresh clone without
    ../shared. Both pose models find the person in every frame (common/coach/synthetic.py)."""
    from common.coach import routine as routines
    from common.coach.synthetic import write_person_clip

    return write_person_clip(tmp_path_factory.mktemp("clip") / "person.mp4", routines.load("arm_raise"))


def wait_for(condition, timeout_s: float = 10.0, interval_s: float = 0.05, what: str = "condition"):
    """Poll until condition() is truthy; fail with `what` after the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


@pytest.fixture
def zctx():
    ctx = zmq.Context()
    yield ctx
    leaked = [s for s in list(ctx._sockets) if not s.closed]
    ctx.destroy(linger=0)
    assert not leaked, f"{len(leaked)} ZeroMQ socket(s) left open by the test"


@contextlib.contextmanager
def scoring_io(tmp_path: Path, settings: dict):
    """What the scoring service's sessions write through, real, for a test that drives them in its
    own thread: the config (`settings` over the defaults, the bus's runtime dir in tmp_path), a
    ServiceContext, a ZeroMQ publisher and a spool (tmp_path/spool.db); all closed after."""
    import logging
    import threading

    from common import config as configuration
    from common.bus.service import ServiceContext
    from common.bus.sockets import Publisher
    from common.spool import Spool

    runtime = tmp_path / "run"
    runtime.mkdir(parents=True, exist_ok=True)
    cfg = configuration.load(None, {**settings, "bus": {"runtime_dir": str(runtime)}})
    context = zmq.Context()
    pub = spool = None
    try:
        ctx = ServiceContext("scoring", cfg, context, threading.Event(), logging.getLogger("scoring"))
        pub = Publisher(context, ctx.endpoint())
        spool = Spool(tmp_path / "spool.db")
        yield ctx, pub, spool
    finally:
        if spool is not None:
            spool.close()
        if pub is not None:
            pub.close()
        context.destroy(linger=0)


@pytest.fixture
def runtime_dir(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    return d


class Processes:
    """Starts `silvergym service NAME` children; teardown fails if one had to be killed."""

    def __init__(self, config_path: Path):
        self.config_path = config_path
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}

    def start(self, name: str, *settings: str) -> subprocess.Popen:
        """Start service `name`; settings are extra `--set KEY=VALUE` overrides."""
        log = self.config_path.parent / f"{name}.log"
        self.logs[name] = log
        out = open(log, "ab")
        extra = [a for kv in settings for a in ("--set", kv)]
        proc = subprocess.Popen([sys.executable, "-m", "common.cli", "service", name, "--config", str(self.config_path),
                                 *extra], stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        out.close()
        self.procs[name] = proc
        return proc

    def start_command(self, name: str, argv: list[str]) -> subprocess.Popen:
        """Start another silvergym command (e.g. `collect`) with the same config."""
        log = self.config_path.parent / f"{name}.log"
        self.logs[name] = log
        out = open(log, "ab")
        proc = subprocess.Popen([sys.executable, "-m", "common.cli", *argv, "--config", str(self.config_path)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        out.close()
        self.procs[name] = proc
        return proc

    def log_text(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace") if name in self.logs else ""

    def stop(self, name: str) -> int:
        p = self.procs[name]
        p.terminate()
        return p.wait(timeout=5)

    def stop_all(self) -> list[str]:
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        stubborn = []
        for name, p in self.procs.items():
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                stubborn.append(name)
        return stubborn


@pytest.fixture
def processes(tmp_path):
    holder = {}

    def make(config_text: str) -> Processes:
        path = tmp_path / "silvergym.toml"
        path.write_text(config_text)
        holder["p"] = Processes(path)
        return holder["p"]

    yield make
    if "p" in holder:
        stubborn = holder["p"].stop_all()
        assert not stubborn, f"service(s) {stubborn} ignored SIGTERM and had to be killed"
