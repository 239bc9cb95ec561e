"""`silvergym demo` (what `make demo` runs): one complete short session on this box.

Camera if present, else --video, else the simulated participant; the renderer on the screen if
there is one, else headless with PNG snapshots; a private Mosquitto for the uplink (spooled if
mosquitto is missing). Prints the session summary and whether the broker received it.
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
from common.mosquitto import BrokerError, LocalBroker
from common.bus.service import setup_logging
from common.cli.supervisor import Supervisor, install_signal_handlers, summary_line

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


def run(args) -> int:
    setup_logging("demo")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    overrides: dict = {
        "renderer": {"snapshot_dir": str(out / "screens"), "snapshot_every_s": 5.0},
        "uplink": {"spool_path": str(out / "spool.db"), "site": "demo", "device": "demo-pi"},
        "scoring": {"routine": args.routine, "start_delay_s": 3.0},
        "bus": {"runtime_dir": str(out / "run")},
    }
    if args.video:
        overrides["camera"] = {"source": args.video, "loop": True}
    # Everything that can be wrong with the config or the inputs is said before the private broker
    # starts (a bad config used to leave it running) and before waiting for a session.
    from common.cli import startup_problem

    problem = startup_problem(configuration.load(args.config, overrides))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
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
    print()
    print(summary_line(msg))
    print(json.dumps(msg.summary, ensure_ascii=False))
    delivered = any(r.get("session_id") == msg.session_id for r in received)
    print(f"MQTT: {'delivered to the broker' if delivered else 'kept in the spool ' + str(out / 'spool.db')}; "
          f"screenshots in {out / 'screens'}")
    return code
