"""`silvergym demo` (what `make demo` runs): one complete short session on this box.

Camera if present, else --video, else a recorded participant through the whole graph: a real
person (../shared/media/squats_5reps.mp4, 5 squats, when that development folder is there)
against a routine built from the same clip, the clip starting with the routine; otherwise, or with
--routine NAME, a clip of a drawn person doing the routine, which the demo writes itself (media
are never part of the repository).
--simulate: the simulated participant (no pose model). The renderer on the screen if there is
one, else headless with PNG snapshots; a private Mosquitto for the uplink (spooled if mosquitto
is missing). Prints a short summary: score, repetitions, where it went, where the snapshots are.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from common import config as configuration
from common.bus.service import setup_logging
from common.cli.supervisor import Supervisor, install_signal_handlers
from common.media import first_camera
from common.mosquitto import BrokerError, LocalBroker

log = logging.getLogger("demo")


def watch_sessions(port: int, received: list, arrived: threading.Event) -> mqtt.Client:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="silvergym-demo-watch")

    def on_message(_c, _u, message):
        received.append(json.loads(message.payload))
        arrived.set()

    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe("silvergym/v1/+/+/session", qos=1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


REAL_CLIP = "squats_5reps.mp4"  # in ../shared/media: a man doing 5 full squats (Apache-2.0)


def real_clip() -> Path | None:
    from common.media import shared_dir

    clip = shared_dir() / "media" / REAL_CLIP
    return clip if clip.is_file() else None


def routine_from_clip(clip: Path, out: Path, model: str) -> Path:
    """The instructor's routine built from the clip, as `silvergym routine build` does: with the
    clip as the instructor's video on the TV."""
    from common.cli.routine import build_from_video, write_routine

    path = out / "squats_from_clip.json"
    write_routine(build_from_video(str(clip), "squats_from_clip", model, out), path)
    return path


def run(args) -> int:
    setup_logging("demo")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    recorded = not args.video and not args.simulate and first_camera() is None
    # The real person's clip goes with the routine built from it, not with a routine chosen.
    chosen = args.routine is not None
    person = real_clip() if recorded and not chosen else None
    if args.routine is None:
        args.routine = "squat"
        if person:
            from models.catalog import ModelError
            try:
                model = configuration.load(args.config, args.overrides).inference.model
                args.routine = str(routine_from_clip(person, out, model))
            except (ModelError, configuration.ConfigError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
    overrides: dict = {
        # 3.7 s: snapshots fall on different moments of a 5 s movement cycle, not all on the same pose.
        "renderer": {"snapshot_dir": str(out / "screens"), "snapshot_every_s": 3.7},
        "uplink": {"spool_path": str(out / "spool.db"), "site": "demo", "device": "demo-pi"},
        "scoring": {"routine": args.routine, "start_delay_s": 3.0},
        "bus": {"runtime_dir": str(out / "run")},
    }
    if args.video:
        overrides["camera"] = {"source": args.video, "loop": True}
    elif args.simulate:
        overrides["camera"] = {"source": "sim"}
    # Everything that can be wrong with the config or the inputs is said before the private broker
    # starts (a bad config used to leave it running) and before waiting for a session.
    from common.cli import startup_problem

    overrides = configuration.merge(overrides, args.overrides)  # the user's --set wins
    problem = startup_problem(configuration.load(args.config, overrides))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if recorded:
        # No camera: the whole graph still runs, the real pose model included, on a recorded
        # participant whose clip starts with the routine.
        if person:
            clip, who = person, "a real person doing 5 squats"
        else:
            from common.coach import routine as routines
            from common.coach.synthetic import write_person_clip

            routine = routines.load(args.routine)  # known good: startup_problem loaded it
            clip = write_person_clip(out / "person.mp4", routine, seconds=min(routine.duration_s, 20.0), size=(480, 360))
            who = f"a drawn person doing {args.routine}" + ("" if chosen else f" (../shared/media/{REAL_CLIP} is absent)")
        overrides["camera"] = {"source": str(clip), "loop": True, "start_with_session": True}
        log.info("no camera: the pose model watches %s, %s", clip, who)
    broker, watcher = None, None
    received: list = []
    arrived = threading.Event()
    try:
        broker = LocalBroker(workdir=str(out / "broker")).start()
        overrides["uplink"]["port"] = broker.port
        watcher = watch_sessions(broker.port, received, arrived)
        log.info("private Mosquitto on 127.0.0.1:%d", broker.port)
    except BrokerError as exc:
        log.warning("%s; the session summary stays in the spool %s", exc, out / "spool.db")
    cfg = configuration.load(args.config, overrides)
    from common.cli import demo_services  # the same camera/simulator choice as `silvergym run`

    names = demo_services(cfg)
    summaries: list = []

    def on_end(msg) -> bool:
        summaries.append(msg)

        def wait_then_stop():
            arrived.wait(timeout=20.0 if broker else 0.0)
            sup.stop.set()

        threading.Thread(target=wait_then_stop, daemon=True).start()
        return False

    sup = Supervisor(cfg, names, args.config, overrides, on_session_end=on_end)
    install_signal_handlers(sup.stop)
    limit = threading.Timer(args.seconds, sup.stop.set)
    limit.daemon = True
    limit.start()
    try:
        code = sup.run()
    finally:
        limit.cancel()
        if watcher is not None:
            watcher.loop_stop()
            watcher.disconnect()
        if broker is not None:
            broker.stop()
    if not summaries:
        print(f"demo: no session finished within {args.seconds:.0f} s (exit {code})")
        return code or 1
    msg = summaries[-1]
    summary = msg.summary
    delivered = any(r.get("session_id") == msg.session_id for r in received)
    timing = summary.get("timing") or {}
    print()
    print(f"Session of {msg.participant} ({msg.routine}): score {summary.get('score', 0):.0f}/100, "
          f"{summary.get('reps', 0)} repetitions, {summary.get('frames_scored', 0)} of {summary.get('frames', 0)} "
          "frames scored")
    if timing:
        print(f"Pace: {timing['tempo']:.2f}x the routine's, {timing['mean_lag_s']:.1f} s behind on average")
    print("Delivered to the demo's MQTT broker" if delivered else f"Kept in the spool {out / 'spool.db'} (no broker)")
    print(f"Screenshots of the TV: {out / 'screens'}")
    return code
