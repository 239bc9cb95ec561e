"""`silvergym central up|down|status [--dir DIR]` (what `make central` runs): the central side on one
machine, on embedded defaults: a Mosquitto of its own on 127.0.0.1, the collector on SQLite and the
carers' web app, each a background process with its log and pid file in DIR (default out/central).

Idempotent: `up` starts only what is not already running and prints where everything is (the
web app's address, the database, how the first admin logs in, how to feed it and how a Pi
joins). The scaled set-up (PostgreSQL, several collectors in a shared subscription, the TLS
broker, systemd units) runs the same commands with a config of its own (deploy/README.md).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PARTS = ("broker", "collector", "web")


def _alive(pid_file: Path) -> int | None:
    """The pid in pid_file when that process still runs and is ours (its command line names DIR)."""
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return None
    return pid if str(pid_file.parent) in cmdline else None


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


def _write_config(folder: Path, broker_port: int, web_port: int) -> Path:
    """The one-machine config: written once, then the installer's to edit (kept on later runs)."""
    config = folder / "silvergym.toml"
    if not config.exists():
        config.write_text(
            "# The central side on one machine (silvergym central up / make central). Edit freely: kept on later runs.\n"
            "[collector]\n"
            f'db = "{folder / "central.db"}"\n'
            'host = "127.0.0.1"\n'
            f"port = {broker_port}\n"
            "\n[web]\n"
            f"port = {web_port}\n"
            'time_zone = "Asia/Seoul"   # the pages\' times; a site elsewhere: [web.site_time_zones]\n', encoding="utf-8")
    return config


def _broker_config(folder: Path, port: int) -> Path:
    from common.mosquitto import mosquitto_binary  # noqa: F401 - the same binary the demo uses
    import getpass

    conf = folder / "mosquitto.conf"
    (folder / "broker").mkdir(exist_ok=True)
    # Local clients only (the collector, send-test): anonymous on 127.0.0.1. Pis come in over the
    # TLS listener with a password each (deploy/README.md, "A Pi joins").
    conf.write_text(f"user {getpass.getuser()}\npersistence true\npersistence_location {folder / 'broker'}/\n"
                    f"log_dest file {folder / 'broker.log'}\nlog_type error\nlog_type warning\nlog_type notice\n"
                    f"listener {port} 127.0.0.1\nallow_anonymous true\n", encoding="utf-8")
    return conf


def _start(name: str, argv: list[str], folder: Path) -> subprocess.Popen:
    log = open(folder / f"{name}.log", "ab")
    try:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=folder)  # outlives this command, like a daemon
    finally:
        log.close()
    (folder / f"{name}.pid").write_text(f"{proc.pid}\n")
    return proc


def _wait(what: str, ready, proc: subprocess.Popen, log: Path, seconds: float = 60.0) -> str | None:
    """None once ready(); else one line saying what went wrong (with the log's last line)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return None
        if proc.poll() is not None:  # our own child: its exit, not /proc's view of it mid-exec
            last = (log.read_text(errors="replace").strip().splitlines() or ["(no output)"])[-1]
            return f"the {what} stopped: {last} (all of it in {log})"
        time.sleep(0.2)
    return f"the {what} did not come up within {seconds:.0f} s; see {log}"


def up(folder: Path, broker_port: int, web_port: int) -> int:
    from common.config import ConfigError, load
    from common.mosquitto import mosquitto_binary

    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # the database holds names, health and falls
    config = _write_config(folder, broker_port, web_port)
    try:
        cfg = load(str(config), {})
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    me = [sys.executable, "-m", "common.cli"]
    repo = Path(__file__).resolve().parents[2]
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH", "")]))
    said = []
    # 1. the broker
    pid_file = folder / "broker.pid"
    if _alive(pid_file):
        said.append(f"broker     already running (pid {_alive(pid_file)})")
    else:
        binary = mosquitto_binary()
        if binary is None:
            print("error: mosquitto is not installed: `sudo apt install mosquitto` (make central does this)", file=sys.stderr)
            return 2
        if _listening(cfg.collector.port):
            print(f"error: port {cfg.collector.port} is taken by another program: set collector.port in {config}",
                  file=sys.stderr)
            return 2
        proc = _start("broker", [binary, "-c", str(_broker_config(folder, cfg.collector.port))], folder)
        problem = _wait("broker", lambda: _listening(cfg.collector.port), proc, folder / "broker.log", 15)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1
        said.append(f"broker     started (pid {proc.pid})")
    # 2. the collector, 3. the web app
    for name, argv, ready_words in (("collector", me + ["collect", "--config", str(config)], "subscribed to"),
                                    ("web", me + ["serve", "--config", str(config)], "web app is at")):
        pid_file, log = folder / f"{name}.pid", folder / f"{name}.log"
        if _alive(pid_file):
            said.append(f"{name:10s} already running (pid {_alive(pid_file)})")
            continue
        start_at = log.stat().st_size if log.exists() else 0
        proc = _start(name, argv, folder)

        def ready(log=log, start_at=start_at, words=ready_words) -> bool:
            with open(log, "rb") as f:
                f.seek(start_at)
                return words.encode() in f.read()
        problem = _wait(name, ready, proc, log)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1
        said.append(f"{name:10s} started (pid {proc.pid})")
    broker = f"127.0.0.1:{cfg.collector.port}"
    url = f"http://{cfg.web.listen}:{cfg.web.port}/"
    cli = f"{sys.executable} -m common.cli" if not (Path(sys.executable).parent / "silvergym").exists() \
        else str(Path(sys.executable).parent / "silvergym")
    print("\n".join(said))
    print(f"""
The central side is up ({folder}):
  carers' web app   {url}
  database          {cfg.collector.db}  (SQLite; PostgreSQL: collector.db in {config})
  MQTT broker       {broker}  (this machine only)
  config, logs      {config}, {folder}/*.log

The first admin (asks for a password, at least 10 characters), then log in at {url}:
  {cli} users add admin --role admin --config {config}
A staff account for one site:
  {cli} users add anna --role staff --site center1 --config {config}
See the whole path now (a scored session and a test fall alert, as a Pi sends them):
  {cli} send-test --broker {broker}
A Pi joins: open this broker to the network with TLS and a password per device (deploy/README.md,
"A Pi joins"), then on the Pi: sudo deploy/install.sh --bridge THIS_SERVER:8883
Stop it all: {stop_words(folder, cli)}""")
    return 0


def stop_words(folder: Path, cli: str) -> str:
    """How to stop this central side: `make central-stop` stops only the Makefile's out/central,
    so another --dir is told its own `central down --dir` (a trial's `central up --dir X` was told
    `make central-stop`, which left X running)."""
    down = f"{cli} central down --dir {folder}"
    made = (Path(__file__).resolve().parents[2] / "out" / "central").resolve()
    return f"make central-stop   (or {down})" if folder.resolve() == made else down


def down(folder: Path) -> int:
    for name in reversed(PARTS):
        pid_file = folder / f"{name}.pid"
        pid = _alive(pid_file)
        if pid is None:
            print(f"{name:10s} not running")
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while _alive(pid_file) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid_file):
            os.kill(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)
        print(f"{name:10s} stopped (pid {pid})")
    return 0


def status(folder: Path) -> int:
    running = 0
    for name in PARTS:
        pid = _alive(folder / f"{name}.pid")
        running += pid is not None
        print(f"{name:10s} {'running (pid %d)' % pid if pid else 'not running'}")
    return 0 if running == len(PARTS) else 1


def run(args) -> int:
    folder = Path(args.dir).resolve()
    if args.action == "up":
        return up(folder, args.broker_port, args.web_port)
    if args.action == "down":
        return down(folder)
    return status(folder)
