"""`silvergym run`: the process table on one box, like systemd does it on the Pi.

Each service is a child process (`silvergym service NAME`). A child that exits is restarted
with exponential backoff; one that is alive but silent on the bus (no Health for
`hung_after_s`, e.g. stopped or deadlocked) is killed and restarted. A child that exits with 2
(bad config or input) stops everything: restarting cannot fix it. SIGTERM/SIGINT stops all
children within 2 s (SIGTERM, then SIGKILL after 1.5 s); a run that has finished its work
(`run --once`: stop_when said so) gives them FINISHED_STOP_S to end on their own, so that a clean
end logs no kill.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import zmq

from common.bus import messages
from common.bus.runtime import SUPERVISOR_PID_ENV, SignalSafeEvent
from common.bus.sockets import Subscriber
from common.cli import OVERRIDES_ENV
from common.config import Config

log = logging.getLogger("supervisor")

SIGNAL_STOP_S = 1.5  # a person's Ctrl-C or systemd's stop: everything ends within 2 s
# Finished work: nobody waits on the console for the last second, and five Pythons ending at once
# on a busy two-core box took 1.4-2.2 s each (renderer, uplink), over SIGNAL_STOP_S.
FINISHED_STOP_S = 10.0

EXIT_CONFIG = 2
EXIT_TPU_REQUIRED = 3
FATAL_EXITS = (EXIT_CONFIG, EXIT_TPU_REQUIRED)


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff_s: float = 0.5
    restart_at: float = 0.0
    last_health: float = 0.0
    up: bool = False  # has sent health since it was (re)started
    done: bool = False  # exited 0 by itself (a video that ended): not restarted


@dataclass
class Supervisor:
    config: Config
    names: list[str]
    config_path: str | None = None
    overrides: dict = field(default_factory=dict)
    stop: SignalSafeEvent = field(default_factory=SignalSafeEvent)
    on_session_end: object = None  # callable(summary) -> bool (True = stop everything)
    on_message: object = None  # callable(msg): every Session, Alert and Health heard (run --once's end)
    stop_when: object = None  # callable() -> bool, asked every loop: True = stop everything
    child_stdout: object = None  # where children log; None = the supervisor's own stdout

    def __post_init__(self):
        self.children = {n: Child(n, self._argv(n)) for n in self.names}
        self.exit_code = 0
        self.finished = False  # stop_when said the work is done (not a signal): the children get FINISHED_STOP_S

    def _argv(self, name: str) -> list[str]:
        argv = [sys.executable, "-m", "common.cli", "service", name]
        if self.config_path:
            argv += ["--config", str(self.config_path)]
        return argv

    def _spawn(self, child: Child, now: float) -> None:
        # The child asks Linux to end it with us (common/bus/runtime.die_with_supervisor).
        env = {**os.environ, SUPERVISOR_PID_ENV: str(os.getpid())}
        if self.overrides:  # in the environment (owner-readable), never in argv (ps shows it to all)
            env[OVERRIDES_ENV] = json.dumps(self.overrides)
        child.proc = subprocess.Popen(child.argv, stdout=self.child_stdout, env=env)
        child.started_at = child.last_health = now
        child.up = False
        log.info("started %s (pid %d)", child.name, child.proc.pid)

    def _health_name(self, service: str) -> str:
        # The simulator stands in for camera+inference and reports as "inference".
        return "simulator" if service == "inference" and "simulator" in self.children else service

    def run(self) -> int:
        ctx = zmq.Context()
        events = Subscriber(ctx, self.config.bus.all_endpoints(), ["health", "session", "alert"])
        try:
            now = time.monotonic()
            for child in self.children.values():
                self._spawn(child, now)
            while not self.stop.is_set():
                for msg in events.receive(timeout_ms=200):
                    self._observe(msg)
                self._check(time.monotonic())
                if self.stop_when is not None and self.stop_when():
                    self.finished = True
                    self.stop.set()
            return self.exit_code
        finally:
            self._stop_all()
            events.close()
            ctx.destroy(linger=0)

    def _observe(self, msg) -> None:
        if self.on_message is not None:
            self.on_message(msg)
        if msg.TOPIC == "health":
            child = self.children.get(self._health_name(msg.service))
            if child is not None:
                child.last_health = time.monotonic()
                if not child.up:
                    child.up = True
                    log.info("%s is up (first health %.1f s after it started)", child.name,
                             child.last_health - child.started_at)
        elif msg.TOPIC == "session" and msg.event == "end" and self.on_session_end is not None:
            if self.on_session_end(msg):
                self.stop.set()

    def _check(self, now: float) -> None:
        for child in self.children.values():
            if child.done:
                continue
            if child.proc is None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self._spawn(child, now)
                continue
            code = child.proc.poll()
            if code is None:
                watch = self.config.supervisor
                if not child.up and now - child.started_at > max(watch.start_within_s, watch.hung_after_s):
                    log.error("%s (pid %d) sent no health in the %.0f s after it started: it is stuck starting "
                              "(a model or device that does not open?); killing and restarting it",
                              child.name, child.proc.pid, now - child.started_at)
                    child.proc.kill()
                    child.proc.wait()
                    self._schedule_restart(child, now, "stuck starting")
                elif child.up and now - child.last_health > watch.hung_after_s:
                    log.error("%s (pid %d) sent no health for %.0f s: it is hung; killing and restarting it",
                              child.name, child.proc.pid, now - child.last_health)
                    child.proc.kill()
                    child.proc.wait()
                    self._schedule_restart(child, now, "hung")
                continue
            if code == 0:
                log.info("%s finished", child.name)
                child.done, child.proc = True, None
            elif code in FATAL_EXITS:
                log.error("%s exited with %d (a problem restarting cannot fix, see its message above); stopping",
                          child.name, code)
                self.exit_code = code
                self.stop.set()
            else:
                self._schedule_restart(child, now, f"exit code {code}")

    def _schedule_restart(self, child: Child, now: float, why: str) -> None:
        if now - child.started_at > 30.0:
            child.backoff_s = 0.5  # it ran fine for a while: this is a new fault, not a crash loop
        child.restart_at = now + child.backoff_s
        log.warning("%s stopped (%s); restarting in %.1f s", child.name, why, child.backoff_s)
        child.backoff_s = min(child.backoff_s * 2, self.config.supervisor.restart_backoff_max_s)
        child.proc = None

    def _stop_all(self) -> None:
        running = [c.proc for c in self.children.values() if c.proc is not None and c.proc.poll() is None]
        for p in running:
            p.send_signal(signal.SIGTERM)
        grace = FINISHED_STOP_S if self.finished else SIGNAL_STOP_S
        deadline = time.monotonic() + grace
        names = {c.proc.pid: c.name for c in self.children.values() if c.proc is not None}
        for p in running:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s (pid %d) did not stop within %.1f s of being asked; killing it",
                            names.get(p.pid, "a service"), p.pid, grace)
                p.kill()
                p.wait()


def install_signal_handlers(stop: SignalSafeEvent) -> None:
    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def member_label(spot: int, participant: str, cfg=None) -> str:
    """A class member on a command's line (score, run --once, demo; the words English, as the
    rest): "spot 2, 김영희", the roster's person by the name [participants] gives them (their key
    without a config or a name), "spot 1" for someone known by their place alone (never the
    scoring service's key "spot-1" as if a person)."""
    from common.coach.spots import member_words

    known = cfg.participants.get(participant) if cfg is not None and participant else None
    return member_words(spot, known.name if known is not None and known.name else participant)


def summary_line(msg: messages.Session, cfg=None) -> str:
    s = msg.summary
    # A program's session ends on its last part, whose routine msg.routine names: the line names the program.
    what = f"program {msg.program}" if msg.program else msg.routine
    who = member_label(msg.spot, msg.participant, cfg) if msg.spot else msg.participant
    score = "no score" if s.get("seen_not_measured") else f"score {s.get('score', 0):.1f}/100"  # its 0 measures nothing
    return (f"session {msg.session_id} ({what}, {who}): {score}, "
            f"{s.get('reps', 0)} reps, {s.get('frames_scored', 0)}/{s.get('frames', 0)} frames scored"
            + not_exercised_note(s) + too_few_poses_note(s))


def too_few_poses_note(summary: dict) -> str:
    """A session the box read too sparsely (common/coach/session.py PoseReadings): its score is no result."""
    if summary.get("too_few_poses") is not True:
        return ""
    return (f"; read only {summary.get('poses_per_s', 0):.1f} times a second: too few to trust this score or count "
            "(too_few_poses; run `silvergym doctor`)")


# A session in which the movement was not done (common/coach/session.py exercised): its 0 is no result.
NOT_EXERCISED = "; the movement was not done (no repetition, nothing judged): not a score (exercised false)"
# ... or was done where the model cannot measure it (common/coach/scoring.py seen_not_measured): no result either,
# but not "not done".
SEEN_NOT_MEASURED = ("; the movement was seen but its depth cannot be measured from the front by a model that reads "
                     "the picture only (seen_not_measured): not a score; the person is to stand side on to the camera")


def not_exercised_note(summary: dict) -> str:
    """Why a session holds no score, when it holds none (exercised false): the movement not done, or
    seen but not measurable from where the person stood."""
    if summary.get("seen_not_measured"):  # whatever exercised says (stored before it followed this field)
        return SEEN_NOT_MEASURED
    return NOT_EXERCISED if summary.get("exercised") is False else ""
