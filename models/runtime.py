"""TFLite runtime adapter: ai_edge_litert, else tflite_runtime, else tensorflow.lite.

Also loads the Coral Edge TPU delegate the way pycoral's make_interpreter does (library
libedgetpu.so.1, option "device" = usb / pci / usb:N / pci:N) and explains what is missing.
"""
from __future__ import annotations

import ctypes
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
        "no TFLite runtime: install ai-edge-litert (x86_64) or tflite-runtime (Raspberry Pi) "
        "into the venv, e.g. `make .venv`")


def runtime_name() -> str:
    return _runtime().__name__.split(".")[0]


def cpu_interpreter(model_path: str, threads: int = 2):
    mod = _runtime()
    it = mod.Interpreter(model_path=model_path, num_threads=threads)
    it.allocate_tensors()
    return it


def edgetpu_interpreter(model_path: str, device: str = ""):
    """An interpreter with the Edge TPU delegate, or EdgeTpuUnavailable saying why."""
    mod = _runtime()
    try:
        ctypes.CDLL(EDGETPU_LIB)
    except OSError:
        raise EdgeTpuUnavailable(
            f"Edge TPU library {EDGETPU_LIB} is not installed: add Coral's apt repository and "
            "`sudo apt install libedgetpu1-std` (deploy/install.sh does this)") from None
    options = {"device": device} if device else {}
    try:
        delegate = mod.load_delegate(EDGETPU_LIB, options)
    except (ValueError, RuntimeError, OSError):
        raise EdgeTpuUnavailable(edgetpu_device_hint(device)) from None
    it = mod.Interpreter(model_path=model_path, experimental_delegates=[delegate])
    it.allocate_tensors()
    return it


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
