"""Helpers for end-to-end tests: a config for the real graph and an observer on the bus."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import zmq

from common import config
from common.bus.sockets import Subscriber
from common.mosquitto import free_port


def core_model() -> str:
    """The pose model the core (graph, fault, supervisor) tests run: MoveNet, the product's model on
    the Coral's CPU fallback, when this machine has it; else the default BlazePose, which `make test`
    can always fetch (from PyPI). MoveNet comes from GitHub or ../shared/models, neither of which a
    fresh clone on a closed network has. Skips, naming what is missing, only if neither is here."""
    import pytest

    from models import catalog

    problems = []
    for name in ("movenet-lightning", "blazepose-full"):
        try:
            catalog.paths(name)
            return name
        except catalog.ModelError as exc:
            problems.append(str(exc))
    pytest.skip("; ".join(problems))


def short_routine(folder: Path, seconds: float, base: str = "arm_raise") -> Path:
    """A bundled routine cut to `seconds`, written as `<base>_short.json` in `folder`."""
    import json

    from common.coach import routine as routines

    short = routines.to_json(routines.load(base))
    short.update(name=f"{base}_short", duration_s=seconds)
    path = folder / f"{base}_short.json"
    path.write_text(json.dumps(short))
    return path


def graph_config(tmp: Path, video: Path, model: str = "movenet-lightning", routine: str = "arm_raise",
                 extra: str = "") -> str:
    return f"""
[bus]
runtime_dir = "{tmp / 'run'}"

[camera]
source = "{video}"
pace = "realtime"
loop = true

[inference]
model = "{model}"

[scoring]
routine = "{routine}"
start_delay_s = 0.5

[renderer]
display = "headless"
voice = false
fps = 10

[uplink]
port = {free_port()}
spool_path = "{tmp / 'spool.db'}"
health_every_s = 1.0
{extra}
"""


class Observer:
    """Listens to every topic but frames; keeps the latest Health per service and counts."""

    def __init__(self, config_path: Path):
        self.cfg = config.load(config_path)
        self.ctx = zmq.Context()
        self.sub = Subscriber(self.ctx, self.cfg.bus.all_endpoints(), ["health", "pose", "score", "session", "alert"])
        self.health: dict = {}
        self.counts: dict = defaultdict(int)
        self.last: dict = {}

    def pump(self, timeout_ms: int = 50) -> "Observer":
        for msg in self.sub.receive(timeout_ms):
            self.counts[msg.TOPIC] += 1
            self.last[msg.TOPIC] = msg
            if msg.TOPIC == "health":
                self.health[msg.service] = msg
                self.counts[f"health:{msg.service}"] += 1
        return self

    def close(self) -> None:
        self.sub.close()
        self.ctx.destroy(linger=0)


class BusTap:
    """Every message every service publishes, decoded with the product's own check
    (messages.from_wire) in a thread of its own: a message the product publishes and the product
    itself refuses is a test failure (`refused`), wherever it comes from. Frames are read as
    their header (the pixels stay in the camera's ring)."""

    def __init__(self, config_path: Path):
        import threading

        self.cfg = config.load(config_path)
        self.counts: dict = defaultdict(int)
        self.refused: list[str] = []
        self.sessions_ended: list = []
        self.alerts: list = []  # every Alert (asking, answered, called), in order
        self.screens: list[str] = []  # the renderer's screens as its Health says them, each change once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="bus-tap", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        from common.bus import messages

        ctx = zmq.Context()
        socks = []
        try:
            poller = zmq.Poller()
            for service, endpoint in self.cfg.bus.all_endpoints().items():
                sock = ctx.socket(zmq.SUB)
                sock.setsockopt(zmq.SUBSCRIBE, b"")
                sock.setsockopt(zmq.RCVHWM, 100_000)
                sock.connect(endpoint)
                poller.register(sock, zmq.POLLIN)
                socks.append((service, sock))
            while not self._stop.is_set():
                ready = dict(poller.poll(100))
                for service, sock in socks:
                    while sock in ready:
                        try:
                            data = sock.recv(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        try:
                            msg = messages.from_wire(data)
                        except messages.MalformedMessage as exc:
                            self.refused.append(f"{service}: {exc}")
                            continue
                        self.counts[msg.TOPIC] += 1
                        if msg.TOPIC == "session" and msg.event == "end":
                            self.sessions_ended.append(msg)
                        elif msg.TOPIC == "alert":
                            self.alerts.append(msg)
                        elif (msg.TOPIC == "health" and msg.service == "renderer"
                              and (not self.screens or self.screens[-1] != msg.state)):
                            self.screens.append(msg.state)
        finally:
            for _, sock in socks:
                sock.close(linger=0)
            ctx.destroy(linger=0)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
