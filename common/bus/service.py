"""The one bootstrap every service process goes through.

Signals set a stop event; logging goes to stdout one line per event with the service name
(journald adds the time); the ZeroMQ context is created here, in the process that uses it, and
destroyed in `finally` so no socket outlives the loop.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import zmq

from common.bus import messages
from common.bus.runtime import (
    AlreadyRunning,
    RuntimeDirError,
    SignalSafeEvent,
    die_with_supervisor,
    hold_instance_lock,
    prepare_runtime_dir,
)
from common.config import Config

log = logging.getLogger("silvergym")


def setup_logging(name: str, level: int = logging.INFO, stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(logging.Formatter(f"{name}: %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


@dataclass
class ServiceContext:
    name: str
    config: Config
    zmq: zmq.Context
    stop: SignalSafeEvent  # set by SIGTERM/SIGINT (and safe to set from any handler)
    log: logging.Logger

    def endpoint(self) -> str:
        return self.config.bus.endpoint(self.name)

    def endpoints(self) -> dict[str, str]:
        return self.config.bus.all_endpoints()


# A refused start (the socket folder is not ours, or another instance runs): systemd and the
# supervisor see a configuration problem, not a crash.
EXIT_REFUSED = 2


# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_frame_buffers_on_heap() -> bool:
    """Frames are ~1 MB and arrive 30 times a second per subscriber. glibc serves blocks that big
    with a fresh mmap and gives them back at free, so every frame paid page faults in system time
    (measured: the camera's CPU per frame 2.7 -> 1.7 ms without it). Above 32 MiB, the default
    behaviour stays; the heap keeps up to 64 MiB instead of trimming it after every frame."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 64 << 20))
    except (OSError, AttributeError):  # not glibc: its default allocator then
        return False


def run(name: str, body: Callable[[ServiceContext], int | None], config: Config) -> int:
    setup_logging(name)
    keep_frame_buffers_on_heap()
    stop = SignalSafeEvent()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    die_with_supervisor()
    svc_log = logging.getLogger(name)
    try:
        folder = prepare_runtime_dir(config.bus.runtime_dir)
        lock = hold_instance_lock(folder, name)
    except (RuntimeDirError, AlreadyRunning) as exc:
        svc_log.error("%s", exc)
        return EXIT_REFUSED
    ctx = zmq.Context()
    try:
        code = body(ServiceContext(name, config, ctx, stop, svc_log))
        return int(code or 0)
    finally:
        ctx.destroy(linger=0)
        lock.close()
        sd_notify("STOPPING=1")


def sd_notify(state: str) -> None:
    """Tell systemd (Type=notify, WatchdogSec) we are alive; a no-op outside systemd."""
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(state.encode(), addr)
    except OSError:
        pass


@dataclass
class LoopStats:
    """fps and latency percentiles over a sliding window, for Health."""

    _ticks: deque = field(default_factory=lambda: deque(maxlen=120))
    _latency_ms: deque = field(default_factory=lambda: deque(maxlen=120))

    def tick(self, now: float, latency_ms: float | None = None) -> None:
        self._ticks.append(now)
        if latency_ms is not None:
            self._latency_ms.append(latency_ms)

    def fps(self, now: float) -> float:
        recent = [t for t in self._ticks if now - t <= 5.0]
        if len(recent) < 2:
            return 0.0
        span = max(recent[-1] - recent[0], 1e-6)
        return (len(recent) - 1) / span

    def latency(self) -> tuple[float, float]:
        if not self._latency_ms:
            return 0.0, 0.0
        arr = np.fromiter(self._latency_ms, dtype=float)
        return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


class HealthReporter:
    """Publishes Health every `every_s` and pings the systemd watchdog from the main loop."""

    def __init__(self, service: str, publisher, every_s: float = 2.0):
        self.service = service
        self.pub = publisher
        self.every_s = every_s
        self.stats = LoopStats()
        self._next = 0.0
        self._ready = False
        self._next_watchdog = 0.0

    def due_now(self) -> None:
        """The next maybe_publish sends Health at once (something a subscriber waits for changed)."""
        self._next = 0.0

    def maybe_publish(self, now: float, dropped: int = 0, malformed: int = 0, state: str = "ok",
                      backend: str = "", detail: dict | Callable[[], dict] | None = None) -> None:
        """`detail` may be a function: it is then called only when Health is due (a spool count,
        say, is not worth running every loop)."""
        if not self._ready:  # the main loop is running: systemd (Type=notify) may count us started
            sd_notify("READY=1")
            self._ready = True
        if now >= self._next_watchdog:  # once a second is plenty for WatchdogSec=20; not per frame
            sd_notify("WATCHDOG=1")
            self._next_watchdog = now + 1.0
        if now < self._next:
            return
        self._next = now + self.every_s
        p50, p95 = self.stats.latency()
        self.pub.publish(messages.Health(
            seq=self.pub.next_seq("health"), t_capture_ns=time.monotonic_ns(), service=self.service,
            fps=round(self.stats.fps(now), 2), latency_p50_ms=round(p50, 2), latency_p95_ms=round(p95, 2),
            dropped=dropped, malformed=malformed, state=state, backend=backend,
            detail=(detail() if callable(detail) else detail) or {}))
