"""Build the stand-in Edge TPU libraries (standin.c) with the system C compiler, one folder per
way of failing, each holding a `libedgetpu.so.1`. For the tests only: this machine has no Coral."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).with_name("standin.c")
KINDS = {"works": "STANDIN_WORKS", "segv_create": "STANDIN_SEGV_CREATE", "abort_invoke": "STANDIN_ABORT_INVOKE",
         "hang_invoke": "STANDIN_HANG_INVOKE", "error_invoke": "STANDIN_ERROR_INVOKE"}


def compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc")


def build(kind: str, into: Path) -> Path:
    """The stand-in library of `kind` (see KINDS), built into `into`/<kind>/libedgetpu.so.1."""
    folder = into / kind
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "libedgetpu.so.1"
    if not out.exists():
        subprocess.run([compiler() or "cc", "-shared", "-fPIC", "-O1", f"-D{KINDS[kind]}", "-o", str(out), str(SOURCE)],
                       check=True, capture_output=True, timeout=120)
    return out
