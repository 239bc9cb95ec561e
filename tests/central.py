"""Helpers for the central-side tests: TLS material, a temporary PostgreSQL, the collector process."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from common.mosquitto import free_port


def make_tls(folder: Path) -> dict:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost (openssl)."""
    folder.mkdir(parents=True, exist_ok=True)

    def ssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder, timeout=60)
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=silvergym test CA",
        "-keyout", "ca.key", "-out", "ca.crt")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
    (folder / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "ext.cnf", "-out", "server.crt")
    return {"ca": str(folder / "ca.crt"), "cert": str(folder / "server.crt"), "key": str(folder / "server.key")}


def password_file(path: Path, users: dict[str, str]) -> str:
    path.write_text("")
    for user, password in users.items():
        subprocess.run(["mosquitto_passwd", "-b", str(path), user, password], check=True, timeout=30)
    return str(path)


class Postgres:
    """A throwaway PostgreSQL cluster on a free port, run as user postgres when we are root."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="silvergym-pg-"))
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []

    @staticmethod
    def available() -> bool:
        return bool(shutil.which("initdb") and shutil.which("pg_ctl"))

    def _run(self, *cmd):
        subprocess.run([*self.as_user, *cmd], check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        if self.as_user:
            shutil.chown(self.dir, "postgres")
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust")
        self._run("pg_ctl", "-D", str(data), "-w", "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1",
                  "-l", str(self.dir / "log"), "start")
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
