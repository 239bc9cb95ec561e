"""TFLite runtime adapter: ai_edge_litert, else tflite_runtime, else tensorflow.lite.

Also opens the Coral Edge TPU delegate the way pycoral's make_interpreter does (library
libedgetpu.so.1, option "device" = usb / pci / usb:N / pci:N), but only ever in a child process
(models/tpu_worker.py), and explains what is missing.
"""
from __future__ import annotations

import glob
import importlib
import logging
import os
import platform

log = logging.getLogger(__name__)

EDGETPU_LIB = {"Linux": "libedgetpu.so.1", "Darwin": "libedgetpu.1.dylib", "Windows": "edgetpu.dll"}.get(
    platform.system(), "libedgetpu.so.1")

_RUNTIMES = ("ai_edge_litert.interpreter", "tflite_runtime.interpreter", "tensorflow.lite")


class RuntimeMissing(RuntimeError):
    pass


class EdgeTpuUnavailable(RuntimeError):
    """str() is one line: what is missing and how to fix it."""


def _runtime():
    for name in _RUNTIMES:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        return mod
    raise RuntimeMissing(
        "no TFLite runtime: install ai-edge-litert into the venv (`make venv`, or deploy/install.sh on the Pi)")


def runtime_name() -> str:
    return _runtime().__name__.split(".")[0]


def tflite_module():
    """The TFLite runtime's interpreter module (Interpreter, load_delegate)."""
    return _runtime()


def edgetpu_library_present(library: str = EDGETPU_LIB) -> bool:
    """Whether the Edge TPU library is there, found without loading it: loading runs the vendor's
    code, which is the Edge TPU child's job (models/tpu_worker.py), never this process's."""
    if os.sep in library:
        return os.path.isfile(library)
    import ctypes.util

    dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    if any(os.path.isfile(os.path.join(d, library)) for d in dirs):
        return True
    return ctypes.util.find_library(library.removeprefix("lib").split(".so")[0]) is not None


def cpu_interpreter(model_path: str, threads: int = 2):
    mod = _runtime()
    it = mod.Interpreter(model_path=model_path, num_threads=threads)
    it.allocate_tensors()
    return it


def edgetpu_interpreter(model_path: str, device: str = "", library: str = EDGETPU_LIB):
    """An interpreter with the Edge TPU delegate, running in a child process (tpu_worker) and
    ready, or EdgeTpuUnavailable saying why in one line."""
    from models.tpu_worker import IsolatedInterpreter, TpuFailed

    require_edgetpu_library(library)
    interpreter = IsolatedInterpreter(model_path, library, device)
    try:
        interpreter.wait_ready()
    except TpuFailed as exc:
        raise EdgeTpuUnavailable(str(exc)) from None
    return interpreter


def require_edgetpu_library(library: str = EDGETPU_LIB) -> None:
    if not edgetpu_library_present(library):
        raise EdgeTpuUnavailable(
            f"Edge TPU library {library} is not installed: install the libedgetpu built for this TFLite runtime "
            "(sudo deploy/install.sh --libedgetpu FILE, see README 'Models')")


def coral_usb_present() -> bool:
    """A Coral USB Accelerator in either of its two USB identities (before/after firmware load)."""
    for vendor_file in glob.glob("/sys/bus/usb/devices/*/idVendor"):
        try:
            vendor = open(vendor_file).read().strip()
            product = open(os.path.join(os.path.dirname(vendor_file), "idProduct")).read().strip()
        except OSError:
            continue
        if (vendor, product) in (("1a6e", "089a"), ("18d1", "9302")):
            return True
    return False


def edgetpu_device_hint(device: str = "") -> str:
    want = device or "any"
    if glob.glob("/dev/apex_*") or coral_usb_present():
        return (f"Edge TPU ({want}) is attached but could not be opened: check the udev rule "
                "(/etc/udev/rules.d/99-edgetpu-accelerator.rules, group plugdev) and replug the stick")
    return (f"no Edge TPU device found ({want}): plug the Coral USB Accelerator into a USB 3 port "
            "(or install the PCIe driver gasket-dkms for an M.2/PCIe Coral)")
