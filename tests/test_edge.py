"""[edge] #30: a segfault, an abort, a hang or an error inside the Edge TPU library never takes
inference down. This machine has no Coral: stand-in Edge TPU libraries are built here from
tests/edgetpu_standin/standin.c (each exports the external-delegate entry points the runtime's
load_delegate looks for, so the real delegate path runs), with the CPU MoveNet file as the model
(the stand-in that works claims no node, so the CPU computes it). Everything else is real: the
runtime, child processes, signals, and in the last tests the real services, bus and broker."""
from __future__ import annotations

import re
import time

import numpy as np
import pytest

from models import catalog
from tests.edgetpu_standin.build import KINDS, build, compiler


def _cpu_movenet() -> str:
    try:
        return str(catalog.paths("movenet-lightning")["model"])
    except catalog.ModelError as exc:
        pytest.skip(f"{exc} (make test fetches it)")


@pytest.fixture(scope="module")
def standins(tmp_path_factory):
    if compiler() is None:
        pytest.skip("no C compiler to build the stand-in Edge TPU libraries (apt install gcc)")
    folder = tmp_path_factory.mktemp("standin")
    return {kind: str(build(kind, folder)) for kind in KINDS}


def _frames(person_clip, n: int) -> list[np.ndarray]:
    from tests.test_models import frames

    return frames(person_clip, limit=n)


WHAT_HAPPENED = {"segv_create": "crashed (SIGSEGV) while loading", "abort_invoke": "crashed (SIGABRT) during inference",
                 "hang_invoke": "did not answer within", "error_invoke": "failed during inference"}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_way_the_edge_tpu_library_fails_is_survived_on_the_cpu(kind, standins, person_clip, caplog):
    """In the inference process's own code path (the Estimator): seconds from the failing frame
    to its CPU pose, frames lost, and the one log line with the fix."""
    import logging

    from models.estimator import Estimator

    model = _cpu_movenet()
    frames = _frames(person_clip, 6)
    cpu = Estimator("movenet-lightning")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="inference"):
        est = Estimator("movenet-lightning-edgetpu", model_path=model, tpu_library=standins[kind])
        opened_s, opened_on = time.monotonic() - started, est.backend
        results, seconds = [], []
        for frame in frames:
            t0 = time.monotonic()
            results.append((est.estimate(frame).keypoints, est.backend))
            seconds.append(time.monotonic() - t0)
    lines = [r.getMessage() for r in caplog.records]
    lost = sum(len(kps) == 0 for kps, _ in results)
    print(f"\n{kind}: opened in {opened_s:.2f} s on {opened_on}; slowest frame {max(seconds):.2f} s; "
          f"frames lost {lost}/{len(frames)}; backends {[b for _, b in results]}")
    if kind == "works":  # the real load_delegate path ran and the CPU computed the model behind it
        assert all(b == "edgetpu" for _, b in results) and not lines
        reference = [cpu.estimate(f).keypoints for f in frames]
        assert all(np.allclose(kps, ref, atol=0.5) for (kps, _), ref in zip(results, reference))
        return
    print(f"{kind}: said: {lines[0]}")
    assert len(lines) == 1 and WHAT_HAPPENED[kind] in lines[0] and "CPU" in lines[0]
    assert ("libedgetpu" in lines[0]) if kind == "segv_create" else ("replug the Coral" in lines[0])
    assert all(b == "cpu" for _, b in results) and lost == 0
    assert max(seconds) < 2.0 + 1.0  # the hang's deadline (1 s) and the CPU model's load, with room on a busy box
    assert est.tpu_problem and est.tpu_failures == 1


def test_a_failing_edge_tpu_is_tried_again_in_the_background_with_growing_waits(standins, person_clip):
    """No crash loop: after each failure the next try waits twice as long (10, 20, 40 s ...), and
    a try loads in its own child while the CPU answers every frame."""
    from models.estimator import Estimator

    model = _cpu_movenet()
    frame = _frames(person_clip, 1)[0]
    clock = [0.0]
    est = Estimator("movenet-lightning-edgetpu", model_path=model, tpu_library=standins["abort_invoke"],
                    clock=lambda: clock[0])
    est.estimate(frame)  # the first invoke aborts in the child: CPU from here
    tries, answered, waits = [], 0, []
    for _ in range(5):
        last_failures = est.tpu_failures
        waits.append(est._next_probe - clock[0])
        clock[0] = est._next_probe + 0.01
        deadline = time.monotonic() + 30
        while est.tpu_failures == last_failures and time.monotonic() < deadline:
            kps = est.estimate(frame).keypoints  # the CPU answers while the child loads
            answered += len(kps) > 0
        tries.append(est.tpu_failures - last_failures)
    print(f"\ntries at a TPU that aborts on every invoke: waits between them {[round(w) for w in waits]} s; "
          f"frames answered meanwhile {answered}")
    assert tries == [1] * 5 and waits == sorted(waits) and waits[-1] >= 8 * waits[0] and answered > 0


# -- tier 3: the real services under `silvergym run`, the camera on a clip -------------------------

def _edge_run_config(tmp_path, clip, routine_file, library: str, model: str, broker_port: int) -> str:
    from tests.graph import graph_config

    text = graph_config(tmp_path, clip, model="movenet-lightning-edgetpu", routine=str(routine_file),
                        extra=f'\n[collector]\nport = {broker_port}\ndb = "{tmp_path / "central.db"}"\n')
    text = re.sub(r"(?m)^port = \d+$", f"port = {broker_port}", text, count=1)
    return text.replace('model = "movenet-lightning-edgetpu"\n', f'model = "movenet-lightning-edgetpu"\n'
                        f'model_path = "{model}"\nedgetpu_library = "{library}"\n')


@pytest.mark.e2e
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_session_survives_the_edge_tpu_library_failing_and_is_delivered_once(kind, standins, tmp_path, person_clip,
                                                                                  processes):
    """The real camera (on a clip), inference, scoring, renderer and uplink under the supervisor,
    a real broker and collector. Printed: seconds and frames from the last TPU pose to the first
    CPU pose at each fall, restarts (none), and the session stored once with the spool empty."""
    import subprocess
    import sys

    from common.central.collector import Store
    from common.mosquitto import LocalBroker, mosquitto_binary
    from common.spool import Spool
    from tests.conftest import REPO, wait_for
    from tests.graph import Observer, short_routine

    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (make test installs it)")
    model = _cpu_movenet()
    routine_file = short_routine(tmp_path, 25)
    broker = LocalBroker(workdir=str(tmp_path / "broker")).start()
    cfg = tmp_path / "silvergym.toml"
    cfg.write_text(_edge_run_config(tmp_path, person_clip, routine_file, standins[kind], model, broker.port))
    procs = processes(cfg.read_text())
    collector = procs.start_command("collector", ["collect"])
    log = tmp_path / "run.log"
    poses: list[tuple[float, int, str]] = []  # (arrival, frame_id, backend)
    obs = Observer(cfg)

    def listen() -> None:
        for msg in obs.sub.receive(20):
            if msg.TOPIC == "pose" and msg.keypoints:
                poses.append((time.monotonic(), msg.frame_id, msg.backend))

    with open(log, "wb") as out:
        started = time.monotonic()
        sup = subprocess.Popen([sys.executable, "-m", "common.cli", "run", "--config", str(cfg)], stdout=out,
                               stderr=subprocess.STDOUT, cwd=REPO)
    try:
        wait_for(lambda: listen() or re.search(r"session (\w+) ended \(completed\)", log.read_text()), 120,
                 what="the session to complete")
        session_id = re.search(r"session (\w+) ended \(completed\)", log.read_text())[1]
        central = Store(str(tmp_path / "central.db"))
        spool = Spool(tmp_path / "spool.db")
        wait_for(lambda: listen() or (central.count("sessions") >= 1 and spool.depth() == 0), 60,
                 what="the session stored centrally and the spool empty")
        stored = [r[0] for r in central.db.execute("SELECT msg_id FROM sessions")]
        central.close()
        spool.close()
        text = log.read_text()
        # Each failure hits a frame whose pose then comes from the CPU: the longest pause between two
        # poses and the frames skipped there are what the senior could see of it.
        pauses = [(b[0] - a[0], b[1] - a[1] - 1) for a, b in zip(poses, poses[1:])]
        pause_s, skipped = max(pauses) if pauses else (float("nan"), 0)
        first_pose_s = poses[0][0] - started if poses else float("nan")
        restarts = len(re.findall(r"started inference", text)) - 1
        backends = sorted({b for _, _, b in poses})
        tpu_falls = len(re.findall(r"Running movenet-lightning on the CPU meanwhile", text))
        tries = tpu_falls + len(re.findall(r"the Edge TPU was tried again", text))
        print(f"\n{kind}: first pose {first_pose_s:.1f} s after start; backends {backends}; Edge TPU failures "
              f"{tries} (the first and background retries); longest pause between poses {pause_s:.2f} s with "
              f"{skipped} frames skipped; {len(poses)} poses; inference restarts {restarts}; session stored "
              f"{stored.count(session_id)}x, spool empty")
        assert restarts == 0 and "restarting" not in text and "Traceback" not in text
        assert stored == [session_id]
        # The longest pause is a wall-clock figure and the box is shared: bounded by the hang's
        # deadline (1 s) and the load this run itself saw (four of its median pose intervals), so
        # a failover that stalls the stream still fails while a busy CI box does not (CI at
        # 810be61: 2.20 s with the Edge TPU working, no failure to recover from).
        intervals = sorted(b[0] - a[0] for a, b in zip(poses, poses[1:]))
        typical_s = intervals[len(intervals) // 2] if intervals else float("nan")
        print(f"{kind}: median pose interval {typical_s:.2f} s")
        assert pause_s < 1.0 + max(1.0, 4 * typical_s)
        if kind == "works":
            assert backends == ["edgetpu"] and tpu_falls == 0
        else:  # one failure at start, one more at the background retry 10 s later (in the child loading, or
            # at the first invoke after switching back)
            assert backends == ["cpu"] and tpu_falls >= 1 and tries >= 2
    finally:
        sup.send_signal(15)
        sup.wait(timeout=15)
        obs.close()
        procs.stop_all()
        broker.stop()
        del collector


DOCTOR_SAYS = {"works": ("ok", "library and device answer"),
               "segv_create": ("warn", "crashed (SIGSEGV) while loading the Edge TPU library: the Edge TPU library "
                                       "does not match the TFLite runtime; install the libedgetpu built for it"),
               "abort_invoke": ("warn", "crashed (SIGABRT) during inference: replug the Coral"),
               "hang_invoke": ("warn", "did not answer within 5.0 s (the USB link stalled): replug the Coral"),
               "error_invoke": ("warn", "failed during inference")}


@pytest.mark.parametrize("kind", list(KINDS))
def test_doctor_and_the_install_probe_name_what_happened_and_the_fix(kind, standins, tmp_path):
    """`silvergym doctor` and `silvergym edgetpu-probe` (what install.sh runs) try the library in a
    child process: the check line for each way it fails, and doctor itself never crashes."""
    import subprocess
    import sys

    from tests.conftest import REPO

    model = _cpu_movenet()
    settings = ["--set", "inference.model=movenet-lightning-edgetpu", "--set", f"inference.model_path={model}",
                "--set", f"inference.edgetpu_library={standins[kind]}", "--set", f"bus.runtime_dir={tmp_path / 'run'}",
                "--set", "renderer.display=headless"]
    done = subprocess.run([sys.executable, "-m", "common.cli", "doctor", *settings], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    line = next((ln for ln in done.stdout.splitlines() if ln[6:18].strip() == "edge tpu"), "")
    probe = subprocess.run([sys.executable, "-m", "common.cli", "edgetpu-probe", *settings], capture_output=True,
                           text=True, cwd=REPO, timeout=120).stdout.strip()
    print(f"\n{kind}: doctor: {line}\n{kind}: edgetpu-probe: {probe}")
    level, words = DOCTOR_SAYS[kind]
    assert "Traceback" not in done.stdout + done.stderr and line.startswith(level) and words in line
    assert probe.startswith("ready:" if kind == "works" else "broken:")


@pytest.mark.parametrize("sent", ["SIGKILL", "SIGTERM"])
def test_a_tpu_child_killed_while_loading_is_not_called_a_library_mismatch(sent, standins):
    """[alerts-first] item 6: a child killed while loading (the OOM killer, a user) was reported as
    "crashed while loading: the Edge TPU library does not match the TFLite runtime" with the fix of
    reinstalling libedgetpu. A signal sent from outside is now told apart from the library's own
    crash (the segv_create stand-in still gets the library fix)."""
    import os
    import signal

    from models.tpu_worker import IsolatedInterpreter, TpuFailed

    model = _cpu_movenet()
    said = None
    for _ in range(5):  # the kill must land before the child says ready: the runtime's import takes ~1 s
        child = IsolatedInterpreter(model, standins["works"])
        os.kill(child.pid, getattr(signal, sent))
        try:
            child.wait_ready()
        except TpuFailed as exc:
            said = str(exc)
            break
        finally:
            child.close()
    assert said is not None, "the child was ready before the kill landed, five times"
    crashed = IsolatedInterpreter(model, standins["segv_create"])
    try:
        crashed.wait_ready()
    except TpuFailed as exc:
        library = str(exc)
    finally:
        crashed.close()
    print(f"\nkilled with {sent} while loading: {said}\nthe library's own SIGSEGV: {library}")
    assert f"was killed ({sent}) while loading" in said and "out-of-memory" in said and "libedgetpu" not in said
    assert "crashed (SIGSEGV) while loading" in library and "libedgetpu" in library
