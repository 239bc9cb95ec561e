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
    import cv2

    capture = cv2.VideoCapture(str(person_clip))
    out = []
    while len(out) < n:
        ok, frame = capture.read()
        if not ok:
            break
        out.append(frame)
    capture.release()
    return out


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
