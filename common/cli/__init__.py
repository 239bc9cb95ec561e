"""The `silvergym` command: this module parses the command line and holds the process table
(PROCESSES); one module per subcommand beside it (pose, score, routine, demo, doctor, bench,
supervisor), each imported only when its subcommand runs.

May import every part of common/ and models/. It names services only by module path in the process
table (started in their own processes); nothing else under common/ may import services/.
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from pathlib import Path

from common import config as configuration
from common.texts import LOCALES

# The process table: service name -> module with main(ctx).
PROCESSES = {
    "camera": "services.camera",
    "inference": "services.inference",
    "scoring": "services.scoring",
    "renderer": "services.renderer",
    "uplink": "services.uplink",
    "simulator": "services.simulator",
}


# The supervisor hands its children the run's overrides in the environment, not in argv: argv is
# world-readable in /proc (`ps`), and an override may be a password.
OVERRIDES_ENV = "SILVERGYM_OVERRIDES_JSON"


def _overrides(args) -> dict:
    """The supervisor's overrides (environment), --set-json, and --set KEY=VALUE, nested."""
    handed = os.environ.get(OVERRIDES_ENV) if getattr(args, "func", None) is cmd_service else None
    overrides = json.loads(handed or getattr(args, "set_json", None) or "{}")
    for item in getattr(args, "set", None) or []:
        key, _, value = item.partition("=")
        node = overrides
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        try:
            node[leaf] = json.loads(value)
        except json.JSONDecodeError:
            node[leaf] = value
    return overrides


def _load_config(args) -> configuration.Config:
    return configuration.load(args.config, args.overrides)


def cmd_service(args) -> int:
    from common.bus import service

    cfg = _load_config(args)
    module = importlib.import_module(PROCESSES[args.name])
    if args.name == "scoring":  # the service the settings are for says, once, what it leaves unused
        service.setup_logging(args.name)
        for ignored in configuration.ignored_settings(cfg):
            logging.getLogger(args.name).warning("%s", ignored)
    return service.run(args.name, module.main, cfg)


def demo_services(cfg: configuration.Config) -> list[str]:
    """The services to start; with no camera and no video the simulated participant stands in
    for camera and inference."""
    from common.media import first_camera

    names = list(cfg.supervisor.services)
    source = cfg.camera.source
    if source == "sim" or (source == "auto" and first_camera() is None):
        logging.getLogger("supervisor").info(
            "no camera and no video given: a simulated participant stands in for camera and inference")
        names = ["simulator" if n == "camera" else n for n in names if n != "inference"]
    return names


def cmd_run(args) -> int:
    from common.bus.service import setup_logging
    from common.cli.once import QUESTION_MARGIN_S, OnceEnd
    from common.cli.supervisor import Supervisor, install_signal_handlers, summary_line

    setup_logging("supervisor")
    extra: dict = {}
    if args.video:
        extra.setdefault("camera", {})["source"] = args.video
    if args.routine:
        extra.setdefault("scoring", {})["routine"] = args.routine
    if args.program:
        extra.setdefault("scoring", {})["program"] = args.program
    if args.snapshots:
        extra.setdefault("renderer", {})["snapshot_dir"] = args.snapshots
    base = {}
    if args.once and args.video:
        # One session of a recorded file is one performance, scored as `silvergym score` scores it:
        # played once from the routine's start, never looped into the session (--set may say otherwise).
        # A recorded class (group mode) plays from its start at once, the class's clock with it
        # (services/camera.py StartWithSession.with_clip): its members join as they follow the routine.
        base = {"camera": {"start_with_session": True}}
    overrides = configuration.merge(configuration.merge(base, args.overrides), extra)
    cfg = configuration.load(args.config, overrides)
    problem = startup_problem(cfg)
    if problem:  # said once here, before five services start and restart over it
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from common.bus.runtime import (
        AlreadyRunning,
        RuntimeDirError,
        hold_instance_lock,
        prepare_runtime_dir,
    )

    try:
        instance = hold_instance_lock(prepare_runtime_dir(cfg.bus.runtime_dir), "run")
    except (RuntimeDirError, AlreadyRunning) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    names = demo_services(cfg)
    summaries = []
    # --once stops when the first session's ending has run its course (common/cli/once.py): its open
    # fall question answered or called, its records acknowledged, the TV's summary drawn.
    once = OnceEnd(Path(cfg.renderer.snapshot_dir) if cfg.renderer.snapshot_dir else None,
                   tell=lambda line: print(f"run --once: {line}", file=sys.stderr, flush=True)) if args.once else None

    def on_end(msg) -> bool:
        if once is not None and not once.report_once(msg):
            return False  # a later session (--once reports the first, or the first class: each member)
        print(summary_line(msg, cfg), flush=True)
        summaries.append(msg)
        if once is not None and once.question_open():
            print("a fall is suspected and the TV asks whether the person is all right: waiting for the answer "
                  f"or the call to the carer (up to {cfg.scoring.fall_countdown_s + QUESTION_MARGIN_S:.0f} s)",
                  file=sys.stderr, flush=True)
        return False

    sup = Supervisor(cfg, names, args.config, overrides, on_session_end=on_end,
                     on_message=once.observe if once else None, stop_when=once.done if once else None)
    install_signal_handlers(sup.stop)
    limit = None
    if args.seconds:
        import threading
        # A daemon, cancelled at the end: a --once that stopped early otherwise waited out the
        # whole --seconds before the process exited (the timer's thread is joined at exit).
        limit = threading.Timer(args.seconds, sup.stop.set)
        limit.daemon = True
        limit.start()
    code = sup.run()
    if limit is not None:
        limit.cancel()
    instance.close()  # the lock is held for as long as the services run
    for why in once.unfinished if once is not None else []:
        print(f"run --once: {why}", file=sys.stderr)
    if args.once and summaries and summaries[-1].class_id:  # a class: each member's summary, by spot
        for msg in sorted(summaries, key=lambda m: m.spot):
            known = cfg.participants.get(msg.participant)  # participant_name as the session records give it
            print(json.dumps({"spot": msg.spot, "participant": msg.participant,
                              **({"participant_name": known.name} if known is not None else {}), **msg.summary},
                             ensure_ascii=False))
    elif args.once and summaries:
        print(json.dumps(summaries[-1].summary, ensure_ascii=False))
    elif args.once and code == 0:
        print("no session finished before the time limit", file=sys.stderr)
        return 1
    return code


def installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("silvergym")
    except PackageNotFoundError:
        return "(not installed: running from a source tree)"


def seconds_or_more(text: str) -> float:
    """An argparse type: a number of seconds, 0 or more (argparse turns the error into one line)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} is negative; give 0 or more seconds")
    return value


def model_name(text: str) -> str:
    """An argparse type: a model the catalog knows (checked before any work starts)."""
    from models import catalog

    known = catalog.load_catalog()
    if text and text not in known:  # "" = the default model
        raise argparse.ArgumentTypeError(f"unknown model {text!r}; known: {', '.join(known)} (`silvergym models list`)")
    return text


def frames_per_second(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of frames per second") from None
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"{text} is not a frame rate; give the source's frames per second, e.g. 30")
    return value


def key_value(text: str) -> str:
    key, sep, _ = text.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE; e.g. --set camera.source=0")
    return text


def startup_problem(cfg: configuration.Config) -> str:
    """What would make a service fail at once, found before anything starts: an unknown routine,
    or a video or picture file that is not there (a camera may still be plugged in later)."""
    from common.coach import routine as routines
    from common.media import SourceError, source_kind

    from common.coach import program as programs

    try:
        routines.load(cfg.scoring.routine)
        if cfg.scoring.program:
            programs.load(cfg.scoring.program)
    except (routines.RoutineError, programs.ProgramError) as exc:
        return str(exc)
    source = cfg.camera.source
    if source in ("auto", "sim"):
        return ""
    try:
        kind = source_kind(source)
    except SourceError as exc:
        return str(exc)
    if kind in ("video", "image") and not Path(source).is_file():
        return f"camera.source {source}: no such file; check the path (or use a camera: camera.source = \"auto\")"
    return ""


def lazy(module: str):
    """A subcommand whose whole implementation is `module.run(args)`, imported only when used."""
    return lambda args: importlib.import_module(module).run(args)


# What the central side's commands import beyond the device's packages: pyproject's `central` extra.
CENTRAL_PACKAGES = {"jsonschema", "matplotlib", "psycopg", "apprise", "django", "axes", "csp", "waitress"}


def central_command(module: str, say_db: bool = False):
    # Not named `central`: importing the submodule common.cli.central sets that name on this
    # package and would replace the function (CI at aeea933: a test importing it first made
    # build_parser raise "'module' object is not callable").
    """lazy() for the central side's commands (collect, report, serve, users): on a venv without the
    `central` extra (a Pi's, `make demo`'s), one line naming the install step, exit 2, not a
    traceback. With say_db, the database it stores into is printed first."""
    def run(args) -> int:
        try:
            if say_db:
                from common.central.collector import safe_dsn

                cfg = _load_config(args).collector
                print(f"{args.command}: database {safe_dsn(cfg.db)} (collector.db)", flush=True)
            return importlib.import_module(module).run(args)
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in CENTRAL_PACKAGES:
                raise
            here = Path(__file__).resolve().parents[2]
            step = (f"make central (in {here})" if (here / "Makefile").exists() else "pip install 'silvergym[central]'")
            print(f"error: silvergym {args.command} needs the central side's packages ({exc.name} is missing): "
                  f"{step}, or {sys.executable} -m pip install -e '{here}[central]'", file=sys.stderr)
            return 2
    return run


def cmd_screenshots(args) -> int:
    if Path(args.out).exists() and not Path(args.out).is_dir():
        print(f"error: --out {args.out} is a file; give a folder for the PNG files", file=sys.stderr)
        return 2
    renderer = importlib.import_module(PROCESSES["renderer"])
    for path in renderer.screenshots(args.out, args.locale):
        print(path)
    return 0


def cmd_models(args) -> int:
    from models import catalog

    if args.action == "list":
        root = catalog.cache_dir(args.cache)
        for name, spec in catalog.load_catalog().items():
            states = [catalog.file_status(f, root) for f in spec.files]
            state = "present" if all(s == "ok" for s in states) else ", ".join(sorted(set(states) - {"ok"}))
            how = "" if state == "present" else f"  -> silvergym models fetch {name}"
            print(f"{name:28s} {spec.runtime:8s} {spec.layout:12s} {state}{'  (default)' if spec.default else ''}{how}")
        print(f"cache: {root}")
        return 0
    names = [args.name] if args.name else [catalog.default_model()]
    try:
        for name in names:
            catalog.fetch(name, args.cache, args.source)
            print(f"{name}: ready")
    except catalog.ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_routine(args) -> int:
    from common.cli import routine as routinecli

    return routinecli.run(args)


def cmd_bridge(args) -> int:
    from common.mosquitto import bridge_conf

    cfg = _load_config(args).uplink
    template = Path(args.template)
    try:
        text = bridge_conf(template.read_text(encoding="utf-8"), args.central, cfg.site, cfg.device, args.cafile)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot read the bridge template {template}: {exc.strerror}; reinstall silvergym", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


def cmd_edgetpu_probe(args) -> int:
    """One line, first word the state: what install.sh reads before it leaves the Edge TPU model on."""
    from common.cli.doctor import edgetpu_state

    state, detail = edgetpu_state(_load_config(args))
    words = {"no library": "install the libedgetpu built for this TFLite runtime (README 'Models')",
             "no device": "plug the Coral into a USB 3 port; the CPU model runs meanwhile"}
    print(f"{state}: {detail or words.get(state, '')}")
    return 0


def cmd_ack_key(args) -> int:
    from common import acks
    from common.mosquitto import check_topic_level

    cfg = _load_config(args).collector
    try:
        secret = acks.central_secret(cfg.ack_secret, cfg.db)  # the one the collector signs with
    except OSError as exc:
        print(f"error: cannot keep the acknowledgement secret beside the database ({exc}): set "
              "collector.ack_secret", file=sys.stderr)
        return 2
    if not secret:
        print("error: no collector.ack_secret (or $SILVERGYM_ACK_SECRET) on this server: set one "
              "(e.g. `openssl rand -hex 32`) before handing out device keys", file=sys.stderr)
        return 2
    try:
        check_topic_level("--site", args.site)
        check_topic_level("--device", args.device)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(acks.device_key(secret, args.site, args.device))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="silvergym", description="Senior exercise coach on the edge.")
    p.add_argument("--version", action="version", version=f"silvergym {installed_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    def with_config(sp):
        sp.add_argument("--config", help="TOML config file (default /etc/silvergym/silvergym.toml if present)")
        sp.add_argument("--set", action="append", type=key_value, metavar="KEY=VALUE",
                        help="override one config key, e.g. camera.source=0 (repeatable)")
        sp.add_argument("--set-json", help=argparse.SUPPRESS)
        return sp

    sp = with_config(sub.add_parser("service", help="run one service (what the systemd units call)"))
    sp.add_argument("name", choices=sorted(PROCESSES), help="which service")
    sp.set_defaults(func=cmd_service)

    sp = with_config(sub.add_parser("run", help="start all services on this box and keep them running"))
    sp.add_argument("--video", help="use this video file as the camera")
    sp.add_argument("--routine", help="routine name or file")
    sp.add_argument("--program", help="a program of several movements instead: its name or file (docs/programs.md)")
    sp.add_argument("--snapshots", help="headless: write PNG snapshots of the TV screen here")
    sp.add_argument("--once", action="store_true", help=(
        "stop after the first session and print its summary; with --video the file is played once from the "
        "routine's start (camera.start_with_session), as `silvergym score` reads it. A fall question still "
        "open at the session's end is waited for (answered, or the carer called), the session and alert "
        "until the central server acknowledges them, and with --snapshots the TV's summary (each wait bounded). "
        "In a class (scoring.mode=group): every member's session of the first class to end, a line and a JSON "
        "summary each, by spot"))
    sp.add_argument("--seconds", type=float, default=0, help="stop after this many seconds")
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("demo", help="one complete short session with a private broker (make demo)")
    sp.add_argument("--config", help="TOML config file to start from (the demo sets its own broker and folders)")
    sp.add_argument("--set", action="append", type=key_value, metavar="KEY=VALUE",
                    help="override one config key, e.g. renderer.locale=en (repeatable)")
    sp.add_argument("--video", help="use this video file instead of a camera or the drawn person's clip")
    sp.add_argument("--simulate", action="store_true",
                    help="without a camera: a simulated participant publishes poses itself (no pose model runs)")
    sp.add_argument("--routine", default=None, help=(
        "routine name or file (default squat; without a camera and with ../shared/media, one built from its squat clip)"))
    sp.add_argument("--program", default=None, help=(
        "a program of several movements instead of one routine, e.g. short_program (docs/programs.md)"))
    sp.add_argument("--out", default="out/demo", help="folder for screenshots, spool and sockets")
    sp.add_argument("--seconds", type=float, default=150.0, help="give up after this long")
    sp.set_defaults(func=lazy("common.cli.demo"))

    sp = sub.add_parser("collect", help="central side: store sessions and alerts from MQTT (SQLite/PostgreSQL)")
    sp.add_argument("--config", help="TOML config file (its [collector] section)")
    sp.add_argument("--set", action="append", type=key_value, metavar="KEY=VALUE",
                    help="override a config key, e.g. collector.client_id=collector-2 (repeatable)")
    sp.set_defaults(func=central_command("common.central.collector", say_db=True))

    sp = sub.add_parser("report", help="central side: an HTML health report for one participant, or a class's summary")
    sp.add_argument("participant", nargs="?", default="", help="participant id as the devices send it")
    sp.add_argument("--class", dest="class_id", default="",
                    help="instead: the summary of one class (group mode), by its id, its first 8 characters (4 at least) "
                         "or 'latest'")
    sp.add_argument("--site", default="", help="the participant's site (needed when the name is stored at several)")
    sp.add_argument("--device", default="", help="the participant's device (likewise)")
    sp.add_argument("-o", "--output", default="", help="HTML file to write (default report_<participant>.html)")
    sp.add_argument("--db", default="", help="database (default: collector.db from the config)")
    sp.add_argument("--locale", choices=LOCALES, default="ko", help="language of the report (default ko)")
    sp.add_argument("--config", help="TOML config file (its [collector] section)")
    sp.add_argument("--set", action="append", type=key_value, metavar="KEY=VALUE",
                    help="override a config key (repeatable)")
    sp.set_defaults(func=central_command("common.central.report"))

    sp = with_config(sub.add_parser("serve", help="central side: the carers' web app (127.0.0.1:8090 by default)"))
    sp.set_defaults(func=central_command("common.central.web.serve"))

    sp = with_config(sub.add_parser("users", help="central side: the web app's accounts and family links"))
    sp.add_argument("action", choices=["add", "link", "unlink", "list", "remove", "password"],
                    help="add an account (password on stdin or asked), link/unlink a family carer and a participant, "
                         "list, remove, or change a password")
    sp.add_argument("name", nargs="?", default="", help="the account's user name")
    sp.add_argument("--role", choices=["admin", "staff", "family"], default="family", help="add: the account's role")
    sp.add_argument("--site", default="", help="add: a staff account's site; link: the participant's site")
    sp.add_argument("--device", default="", help="link: the participant's device")
    sp.add_argument("--participant", default="", help="link: the participant's key as the device sends it")
    sp.add_argument("--new", action="store_true",
                    help="link: the participant has sent nothing yet (otherwise an unknown one is refused as a likely typo)")
    sp.set_defaults(func=central_command("common.central.web.users"))

    sp = sub.add_parser("central", help="central side on one machine: broker, collector and web app in the background (make central)")
    sp.add_argument("action", choices=["up", "down", "status"], help="start what is not running / stop all / say what runs")
    sp.add_argument("--dir", default="out/central", help="folder for the config, database, logs and pid files")
    sp.add_argument("--broker-port", type=int, default=1884, help="the local broker's port on 127.0.0.1 (first run)")
    sp.add_argument("--web-port", type=int, default=8090, help="the web app's port on 127.0.0.1 (first run)")
    sp.set_defaults(func=central_command("common.cli.central"))

    sp = sub.add_parser("send-test", help=(
        "central side: put one scored session and one test fall alert into a broker, and say what the collector answered"))
    sp.add_argument("--broker", required=True, help="the broker the collector listens on, HOST:PORT (e.g. 127.0.0.1:1883)")
    sp.add_argument("--site", default="center1", help="the site the records come from (default center1)")
    sp.add_argument("--device", default="test-pi", help="the device they come from (default test-pi)")
    # Not a real senior's key by default: the test fall goes into that participant's record (and to
    # the carers in collector.carers, as any fall does: that path is tested too).
    sp.add_argument("--participant", default="test", help="the participant's key (default test)")
    sp.add_argument("--name", "--participant-name", default="시험 참여자",
                    help="the name a device's config gives them, sent as participant_name ('' for none)")
    sp.add_argument("--routine", default="squat", help="the routine scored (default squat)")
    sp.add_argument("--username", default="", help="MQTT user (password from $SILVERGYM_MQTT_PASSWORD)")
    sp.add_argument("--cafile", default="", help="the broker's CA certificate, for a TLS port")
    sp.add_argument("--wait", type=float, default=20.0, help="seconds to wait for the collector's answers")
    sp.set_defaults(func=lazy("common.cli.sendtest"))

    sp = with_config(sub.add_parser("bridge", help="print this box's Mosquitto bridge to the central broker"))
    sp.add_argument("--central", required=True, help="the central broker, HOST:PORT (TLS)")
    sp.add_argument("--cafile", default="", help="the central broker's CA certificate (default /etc/silvergym/central-ca.crt)")
    sp.add_argument("--template", default=str(Path(__file__).resolve().parents[2] / "deploy/mosquitto/bridge.conf.example"),
                    help="the bridge template (deploy/mosquitto/bridge.conf.example)")
    sp.set_defaults(func=cmd_bridge)

    sp = with_config(sub.add_parser("edgetpu-probe", help=(
        "try the Edge TPU library and model in a child process and say in one line whether they work")))
    sp.set_defaults(func=cmd_edgetpu_probe)

    sp = with_config(sub.add_parser("ack-key", help="central side: print a device's key for signed acknowledgements"))
    sp.add_argument("--site", required=True, help="the device's site (uplink.site)")
    sp.add_argument("--device", required=True, help="the device id (uplink.device)")
    sp.set_defaults(func=cmd_ack_key)

    sp = with_config(sub.add_parser("doctor", help="check camera, Edge TPU, models, broker, font, display, disk"))
    sp.set_defaults(func=lazy("common.cli.doctor"))

    sp = sub.add_parser("bench", help="measure model, pipeline, isolation, bus and codec costs")
    sp.add_argument("--model", default="", type=model_name,
                    help="one model (default: blazepose-full and movenet-lightning)")
    sp.add_argument("--seconds", type=float, default=10.0, help="seconds per measured phase")
    sp.add_argument("--json", action="store_true", help="only the JSON line (always the last line)")
    sp.add_argument("--write", default="", help="also write the markdown table to this file")
    sp.set_defaults(func=lazy("common.cli.bench"))

    sp = sub.add_parser("screenshots", help="render every TV screen to PNG files (headless)")
    sp.add_argument("--out", default="docs/screens", help="folder for the PNG files")
    sp.add_argument("--locale", default="ko", choices=LOCALES, help="screen language")
    sp.set_defaults(func=cmd_screenshots)

    sp = sub.add_parser("models", help="list or fetch pose models")
    sp.add_argument("action", choices=["list", "fetch"], help="list the catalog, or fetch a model into the cache")
    sp.add_argument("name", nargs="?", type=model_name, help="fetch: the model (default: the default model)")
    sp.add_argument("--cache", default="", help="model cache directory")
    sp.add_argument("--from", dest="source", action="append", help="a local folder holding the model files")
    sp.set_defaults(func=cmd_models)

    sp = sub.add_parser("pose", help="run a pose model on an image or video")
    sp.add_argument("input", help="an image or video file")
    sp.add_argument("--model", default="", type=model_name, help="catalog model (default: the default model)")
    sp.add_argument("--model-path", default="", help="a .tflite file (or BlazePose's folder) instead of the cache")
    sp.add_argument("--json", action="store_true", help="one JSON line per frame")
    sp.add_argument("--require-tpu", action="store_true", help="fail (exit 3) instead of using the CPU")
    sp.add_argument("--cache", default="", help="model cache directory")
    sp.set_defaults(func=lazy("common.cli.pose"))

    sp = with_config(sub.add_parser("score", help="score a video offline against a routine"))
    sp.add_argument("--routine", default="", help="routine name or file (default: the config's scoring.routine)")
    sp.add_argument("--video", required=True, help="the participant's video file")
    sp.add_argument("--lag", type=seconds_or_more, default=0.0, help="delay the participant by this many seconds")
    sp.add_argument("--naive", action="store_true", help="same-timestamp comparison, for comparison")
    sp.add_argument("--frames", action="store_true",
                    help="also a line per frame (verdict, alignment offset, repetitions, joints off): for tuning")
    sp.add_argument("--model", default="", type=model_name, help="catalog model (default: the config's inference.model)")
    sp.add_argument("--json", action="store_true", help="the summary as JSON")
    sp.add_argument("--cache", default="", help="model cache directory")
    sp.set_defaults(func=lazy("common.cli.score"))

    sp = sub.add_parser("routine", help="list routines, build one from a video, import keypoints")
    sp.add_argument("action", choices=["list", "build", "import"],
                    help="list the bundled and built routines (and which have a video), build one from an "
                         "instructor's video, or import keypoints")
    sp.add_argument("input", nargs="?", help="build: a video; import: a keypoint file (OpenPose: its folder)")
    sp.add_argument("-o", "--output", help=("the routine file to write (build: default NAME.json in the routine "
                                            "store, $SILVERGYM_ROUTINE_STORE or ~/.local/share/silvergym/routines); "
                                            "a built routine's video goes to videos/ beside it"))
    sp.add_argument("--mirror", action="store_true",
                    help="the instructor faces the class, who follow as in a mirror (left for right); "
                         "the video is then shown as recorded, else flipped")
    sp.add_argument("--format", choices=["openpose", "alphapose", "coco"], help="import: the keypoint file format")
    sp.add_argument("--fps", type=frames_per_second, default=30.0,
                    help="import: frames per second of the source (default 30)")
    sp.add_argument("--name", default="", help="routine name (default: the output file's name)")
    sp.add_argument("--title", action="append", metavar="[LANG=]WORDS",
                    help="the title the TV shows: Korean words, or en=… for English (repeatable)")
    sp.add_argument("--model", default="", type=model_name, help="build: catalog model (default: the default model)")
    sp.add_argument("--cache", default="", help="model cache directory")
    sp.set_defaults(func=cmd_routine)

    sp = with_config(sub.add_parser("program", help="programs of several movements: build one from a long instructor video, check one"))
    sp.add_argument("action", choices=["build", "check", "list", "score"],
                    help="build a program from an instructor's video of several movements, check a program file, "
                         "list the bundled and built programs, or score a participant's video through one")
    sp.add_argument("input", nargs="?", help="build: the instructor's video; check, score: the program file")
    sp.add_argument("--video", default="", help="score: the participant's video, from the program's start")
    sp.add_argument("--json", action="store_true", help="score: the summary as JSON")
    sp.add_argument("--follows-video", action="store_true",
                    help=("score: the participant followed the program's instructor video itself (its own time, "
                          "from its start), not the TV's program (automatic when --video is that video)"))
    sp.add_argument("--out", default="", help=("build: the program file to write (its parts' routines go beside it; "
                                               "default NAME.json in the program store, found by `--program NAME`)"))
    sp.add_argument("--preview", default="", help="build: also write a contact sheet of each part (PNG)")
    sp.add_argument("--mirror", action="store_true", help="build: the instructor faces the class (as routine build)")
    sp.add_argument("--model", default="", type=model_name, help=(
        "build, score: catalog model (default: the default model; score: the config's inference.model)"))
    sp.add_argument("--cache", default="", help="model cache directory")
    sp.add_argument("--poses-cache", default="", help=argparse.SUPPRESS)  # tests: the video's poses, read once
    sp.set_defaults(func=lazy("common.cli.program"))
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.overrides = _overrides(args)  # parsed once, for every command (the central side's too)
    try:
        return int(args.func(args) or 0)
    except configuration.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `silvergym pose ... | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
