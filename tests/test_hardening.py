"""[hardening] #31: what an independent red team broke, each as a test with its figure printed.
Real parts: real processes and signals, real Mosquitto brokers, a real collector and notifier,
a second local user where a local attacker is meant. Needs nothing from ../shared."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.conftest import REPO, wait_for

# A service whose loop waits with a zero or a short timeout on its stop flag: where SIGTERM used
# to land inside Event.wait() and the handler waited for a lock its own thread held.
_SHORT_WAIT_SERVICE = """
import sys
from common.bus import service
from common.config import Config
cfg = Config.model_validate({{"bus": {{"runtime_dir": sys.argv[1]}}}})
def body(ctx):
    print("looping", flush=True)
    while not ctx.stop.wait({timeout}):
        pass
    return 0
sys.exit(service.run("probe", body, cfg))
"""


def test_sigterm_stops_a_service_whose_loop_waits_with_a_short_timeout(tmp_path):
    stopped, slowest = 0, 0.0
    runs = 20
    for k in range(runs):
        code = _SHORT_WAIT_SERVICE.format(timeout=(0, 0.0001, 0.001)[k % 3])
        proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / f"run{k}")], cwd=REPO,
                                stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        try:
            assert proc.stdout.readline().strip() == "looping"
            time.sleep(0.01 * (k % 5))  # land the signal at different moments of the loop
            sent = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
                stopped += proc.returncode == 0
                slowest = max(slowest, time.monotonic() - sent)
            except subprocess.TimeoutExpired:
                pass
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    print(f"\nSIGTERM during a short-timeout wait: {stopped}/{runs} stopped cleanly, slowest {slowest:.3f} s")
    assert stopped == runs
