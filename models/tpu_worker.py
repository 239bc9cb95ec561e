"""The Edge TPU interpreter in a child process, so that vendor code cannot take inference down.

Why a process: a libedgetpu built for another TensorFlow segfaults inside the runtime (Coral's
libedgetpu1-std 16.0 with any TFLite runtime from 2.12 on), an abort in the library ends the
process, and a USB Coral whose link stalls makes invoke() never return. None of these is a Python
exception the service could catch. Frigate keeps its detector in a separate process and restarts it
when a detection takes too long, for the same reason. Here the child loads the delegate and the
model and runs each invoke; the parent (the inference service) waits for each answer with a
deadline. A child that dies, hangs or errors is a `TpuFailed` saying which, in one line with the fix;
the estimator then goes on with the CPU model and tries the TPU again later in a new child, never
in its own process.

The child takes a frame's input tensors and sends back the output tensors (a MoveNet frame is
110 kB in, 200 B out), through a pipe. It asks Linux to end it when its parent dies.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import signal
import time

LOAD_TIMEOUT_S = 15.0  # loading the delegate (a USB Coral's firmware upload takes a few seconds)
INVOKE_TIMEOUT_S = 1.0  # one invoke: ~10 ms on the TPU; a second is a link that stalled

PR_SET_PDEATHSIG = 1


class TpuFailed(RuntimeError):
    """The Edge TPU child crashed, hung or failed; str() is one line: what happened and the fix.
    `unopened`: the library loaded and said no (no device found, say), nothing went wrong."""

    def __init__(self, what: str, fix: str = "", unopened: bool = False):
        super().__init__(f"{what}: {fix}" if fix else what)
        self.unopened = unopened


FIX_MISMATCH = ("the Edge TPU library does not match the TFLite runtime; install the libedgetpu built for it "
                "(sudo deploy/install.sh --libedgetpu FILE, see README 'Models')")
FIX_REPLUG = "replug the Coral into a USB 3 port (a powered hub or a shorter cable if it happens again)"
FIX_KILLED = ("not a fault of the library: something outside stopped it (the kernel's out-of-memory killer: "
              "`journalctl -k | grep -i oom`, a user, or a shutdown); nothing to reinstall")
# Signals another process sends: a child that died of one was stopped, it did not crash.
_SENT_FROM_OUTSIDE = {signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT}


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _child(conn, model_path: str, library: str, device: str) -> None:
    """The child's whole life: load, say ready (or why not), then answer invokes until told to stop."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    from models import runtime

    try:
        mod = runtime.tflite_module()
        if library:
            delegate = mod.load_delegate(library, {"device": device} if device else {})
            interpreter = mod.Interpreter(model_path=model_path, experimental_delegates=[delegate])
        else:  # no library: the CPU on one thread, to measure what the child process itself costs (bench)
            interpreter = mod.Interpreter(model_path=model_path, num_threads=1)
        interpreter.allocate_tensors()
        conn.send(("ready", interpreter.get_input_details(), interpreter.get_output_details()))
    except Exception as exc:  # noqa: BLE001 - told to the parent, which decides
        conn.send(("load_error", " ".join(f"{type(exc).__name__}: {exc}".split())))  # one log line
        return
    outputs = [d["index"] for d in interpreter.get_output_details()]
    while True:
        try:
            inputs = conn.recv()
        except EOFError:
            return
        if inputs is None:
            return
        try:
            for index, tensor in inputs.items():
                interpreter.set_tensor(index, tensor)
            interpreter.invoke()
            conn.send(("ok", {index: interpreter.get_tensor(index) for index in outputs}))
        except Exception as exc:  # noqa: BLE001 - the parent falls back on it
            conn.send(("invoke_error", " ".join(f"{type(exc).__name__}: {exc}".split())))


class IsolatedInterpreter:
    """The part of the TFLite Interpreter the models use (details, set_tensor, invoke,
    get_tensor), with the interpreter and its Edge TPU delegate in a child process.

    Made without waiting: `poll()` says whether the child is ready (None while loading), or
    raises TpuFailed; `wait_ready()` blocks up to the load deadline."""

    def __init__(self, model_path: str, library: str, device: str = "", load_timeout_s: float = LOAD_TIMEOUT_S,
                 invoke_timeout_s: float = INVOKE_TIMEOUT_S, clock=time.monotonic):
        self.invoke_timeout_s, self.clock, self.device = invoke_timeout_s, clock, device
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of the service's threads
        self._conn, child_end = context.Pipe()
        self._process = context.Process(target=_child, args=(child_end, model_path, library, device),
                                        name="silvergym-edgetpu", daemon=True)
        self._process.start()
        child_end.close()
        self._load_deadline = clock() + load_timeout_s
        self._ready = False
        self._inputs: dict = {}
        self._outputs: dict = {}
        self.input_details: list = []
        self.output_details: list = []

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def poll(self) -> bool | None:
        """True once ready; None while still loading; TpuFailed if loading failed."""
        if self._ready:
            return True
        if self._conn.poll(0):
            return self._take_ready()
        if not self._process.is_alive():
            self._process.join(1)
            if self._conn.poll(0):
                return self._take_ready()
            raise self._died("while loading the Edge TPU library", FIX_MISMATCH)
        if self.clock() > self._load_deadline:
            self.close()
            raise TpuFailed("the Edge TPU did not finish loading in time (the library or the USB link hung)", FIX_REPLUG)
        return None

    def wait_ready(self) -> None:
        while self.poll() is None:
            multiprocessing.connection.wait([self._conn, self._process.sentinel],
                                            timeout=max(0.0, min(0.5, self._load_deadline - self.clock())))

    def _take_ready(self) -> bool:
        try:
            message = self._conn.recv()
        except (EOFError, OSError):
            raise self._died("while loading the Edge TPU library", FIX_MISMATCH) from None
        if message[0] != "ready":  # the library loaded and said no: which device to plug, and where
            from models.runtime import edgetpu_device_hint

            self.close()
            raise TpuFailed(edgetpu_device_hint(self.device), unopened=True)
        _, self.input_details, self.output_details = message
        self._ready = True
        return True

    def _died(self, when: str, fix: str) -> TpuFailed:
        self._process.join(1)
        code = self._process.exitcode
        how = f"crashed ({_signal_name(code)})" if code is not None and code < 0 else f"exited ({code})"
        if code is not None and code < 0 and -code in {int(s) for s in _SENT_FROM_OUTSIDE}:
            how, fix = f"was killed ({_signal_name(code)})", FIX_KILLED  # not the library's doing: no wrong fix
        self.close()
        return TpuFailed(f"the Edge TPU process {how} {when}", fix)

    # -- the Interpreter API the models use -------------------------------------------------------
    def allocate_tensors(self) -> None:
        """Done in the child."""

    def get_input_details(self) -> list:
        return self.input_details

    def get_output_details(self) -> list:
        return self.output_details

    def set_tensor(self, index: int, value) -> None:
        self._inputs[index] = value

    def get_tensor(self, index: int):
        return self._outputs[index]

    def invoke(self) -> None:
        """Run one invoke in the child, waiting at most invoke_timeout_s; TpuFailed otherwise."""
        try:
            self._conn.send(self._inputs)
        except (BrokenPipeError, OSError):
            raise self._died("before inference", FIX_REPLUG) from None
        ready = multiprocessing.connection.wait([self._conn, self._process.sentinel], timeout=self.invoke_timeout_s)
        if not ready:
            self.close()
            raise TpuFailed(f"the Edge TPU did not answer within {self.invoke_timeout_s:.1f} s (the USB link stalled)",
                            FIX_REPLUG)
        try:
            status, payload = self._conn.recv()
        except (EOFError, OSError):
            raise self._died("during inference", f"{FIX_REPLUG}; if it keeps happening, {FIX_MISMATCH}") from None
        if status != "ok":
            self.close()
            raise TpuFailed(f"the Edge TPU failed during inference ({payload[:300]})", FIX_REPLUG)
        self._outputs = payload

    def close(self) -> None:
        """End the child (at once: it may be hung inside vendor code)."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join(2)
        self._conn.close()

    def __del__(self):
        try:
            if self._process.is_alive():
                self._process.kill()
        except (AttributeError, ValueError, AssertionError):
            pass


def probe(model_path: str, library: str, device: str = "", load_timeout_s: float = LOAD_TIMEOUT_S,
          invoke_timeout_s: float = 5.0) -> tuple[str, str]:
    """Load the Edge TPU library and `model_path` in a child and run one invoke on a blank input,
    as the service would: ("ready", how long it took), ("no device", what the library said) or
    ("broken", what happened and the fix). Never loads the library in this process. What
    install.sh (through `silvergym doctor`) and `silvergym doctor` run."""
    import numpy as np

    started = time.monotonic()
    interpreter = IsolatedInterpreter(model_path, library, device, load_timeout_s, invoke_timeout_s)
    try:
        interpreter.wait_ready()
        loaded = time.monotonic()
        for detail in interpreter.get_input_details():
            interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
        interpreter.invoke()
        return "ready", f"loaded in {loaded - started:.1f} s, one inference in {(time.monotonic() - loaded) * 1000:.0f} ms"
    except TpuFailed as exc:
        return ("no device" if exc.unopened else "broken"), str(exc)
    finally:
        interpreter.close()
