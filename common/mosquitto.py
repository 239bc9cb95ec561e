"""A private Mosquitto broker on 127.0.0.1 and a free port, for the demo and the tests.

It never touches the system broker: its own config, no persistence unless asked, stopped on exit.
"""
from __future__ import annotations

import getpass
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class BrokerError(RuntimeError):
    pass


# One MQTT topic level that a site or device id may be: no wildcards, separators or spaces.
_TOPIC_LEVEL = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_HOST_PORT = re.compile(r"[A-Za-z0-9.-]{1,253}:[0-9]{1,5}")


def check_topic_level(what: str, value: str) -> None:
    """ValueError naming `what` when `value` cannot be one level of a topic (a site or device id)."""
    if not _TOPIC_LEVEL.fullmatch(value):
        raise ValueError(f"{what} {value!r} cannot name an MQTT topic level: use letters, digits, '.', '_' or '-'")


def bridge_conf(template: str, central: str, site: str, device: str, cafile: str = "") -> str:
    """The Pi broker's bridge to the central broker (deploy/mosquitto/bridge.conf.example) for
    this box: its own topics out, its acknowledgements in, a client id of its own. ValueError
    names what is wrong with an argument."""
    if not _HOST_PORT.fullmatch(central) or not 0 < int(central.rsplit(":", 1)[1]) < 65536:
        raise ValueError(f"--central {central!r} is not HOST:PORT, e.g. central.example.org:8883")
    for what, value in (("uplink.site", site), ("uplink.device", device)):
        check_topic_level(what, value)
    lines = []
    for line in template.splitlines():
        if not line.startswith("#"):
            # One pass: a device called "SITE" must not have its name replaced again as the site's.
            line = re.sub(r"\b(SITE|DEVICE)\b", lambda m: site if m.group(1) == "SITE" else device,
                          line.replace("CENTRAL_HOST:PORT", central))
            if cafile and line.startswith("bridge_cafile "):
                line = f"bridge_cafile {cafile}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalBroker:
    def __init__(self, port: int = 0, password_file: str = "", tls: dict | None = None, workdir: str = "",
                 acl_file: str = "", extra: str = ""):
        self.port = port or free_port()
        self.password_file = password_file
        self.acl_file = acl_file
        self.extra = extra  # more configuration after the listener (a bridge, say)
        self.tls = tls or {}
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="silvergym-broker-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None

    def _config(self) -> str:
        # As root, mosquitto would switch to user "mosquitto", who cannot read our private files.
        lines = [f"user {getpass.getuser()}", "per_listener_settings false", "persistence true", f"persistence_location {self.workdir}/",
                 "log_dest stderr", "log_type error", "log_type warning",
                 f"listener {self.port} 127.0.0.1"]
        if self.tls:
            lines += [f"cafile {self.tls['ca']}", f"certfile {self.tls['cert']}", f"keyfile {self.tls['key']}"]
        if self.password_file:
            lines += ["allow_anonymous false", f"password_file {self.password_file}"]
        if self.acl_file:
            lines += [f"acl_file {self.acl_file}"]
        else:
            lines += ["allow_anonymous true"]
        return "\n".join(lines) + "\n" + self.extra

    def start(self, timeout_s: float = 10.0) -> "LocalBroker":
        binary = mosquitto_binary()
        if binary is None:
            raise BrokerError("mosquitto is not installed: `sudo apt install mosquitto` (make demo does this)")
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self._config())
        self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerError(f"mosquitto exited: {self.proc.stderr.read().decode(errors='replace').strip()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise BrokerError(f"mosquitto did not listen on 127.0.0.1:{self.port} within {timeout_s} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
