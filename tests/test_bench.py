"""[perf] `silvergym bench` end to end, short phases, without ../shared: the real graph under the
real supervisor. No timing is asserted (shared, noisy machines); what is asserted is that every
figure the issue names is measured, adds up, and is said in words where it cannot be."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.graph import core_model


def test_bench_reports_the_budget_the_targets_and_the_thread_table(tmp_path):
    model = core_model()
    env = {**os.environ, "SILVERGYM_SHARED": str(tmp_path / "no-shared"), "SDL_VIDEODRIVER": "dummy"}
    done = subprocess.run([sys.executable, "-m", "common.cli", "bench", "--seconds", "1", "--model", model],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("Machine:"), "stdout starts with the table (no banner)"
    result = json.loads(lines[-1])  # a clean JSON last line, no NaN
    print("\n".join(lines[:-1]))
    m = result["models"][model]
    per_frame = m["paced30"]["cpu_ms_per_frame"]
    assert set(per_frame) == {"camera", "inference", "scoring", "renderer", "uplink"}
    assert all(v is not None and v >= 0 for v in per_frame.values())
    assert m["not_model_ms_per_frame"] == round(sum(per_frame[n] for n in ("camera", "scoring", "renderer", "uplink")), 3)
    assert m["budget_ms_per_frame"] == 2.0
    assert set(m["threads_table"]) == {"1", "2", "4"} and all(r["ms_p50"] > 0 for r in m["threads_table"].values())
    assert m["threads_default"] == m["bare"]["threads"]
    # [instructor] the renderer's CPU per draw with the instructor's video playing, beside the drawn
    # instructor's, and inference with the video playing against without.
    for phase in ("paced30", "paced30_video"):
        assert m[phase]["renderer_ms_per_draw"] > 0 and m[phase]["renderer_draws_per_s"] > 0, phase
    pairs = m["video_pairs"]
    assert len(pairs) == 3 and all(p["ratio"] == round(p["video_fps"] / p["drawn_fps"], 3) for p in pairs)
    assert m["video_isolation_ratio"] == round(sorted(p["ratio"] for p in pairs)[1], 3)  # the median of three
    assert 0 < m["paced30"]["model_ms_p50"] <= m["paced30"]["model_ms_p95"]  # the model's own time in the graph
    iso = m["isolation_pairs"]  # the stalled renderer against the normal graph, also in three pairs
    assert len(iso) == 3 and all(p["ratio"] == round(p["stalled_fps"] / p["normal_fps"], 3) for p in iso)
    assert m["isolation_ratio"] == round(sorted(p["ratio"] for p in iso)[1], 3)
    for key in ("pipeline_ratio", "isolation_ratio", "latency_target_ms"):
        assert m[key] is not None and m[key] > 0
    assert m["latency_target_ms"] == round(m["bare"]["ms_p50"] + 5, 2)
    table = "\n".join(lines[:-1])
    assert "budget ≤ 2 ms" in table and "target ≥ 0.9" in table and "model p50 + 5 ms" in table
    assert "video isolation ratio" in table
    assert "not measured: ../shared/media is absent" in table
    assert "nan" not in done.stdout.lower()
    assert "Inference copies each picture out of the camera's ring" in table and "µs at 1280x720" in table
    floor = result["wake_floor"]  # what waking for each frame costs any service, measured
    assert floor["messages"] > 0 and floor["ms_per_message"] > 0 and "Floor:" in table
    # [edge] the Edge TPU child process's cost per frame, measured beside the same model in-process,
    # and the Pi's budget on paper (only with both CPU models and sysbench in the run: said in words).
    child = result["edge_child"]
    assert "skipped" in child or (child["child_ms_p50"] > 0 and child["in_process_ms_p50"] > 0
                                  and child["extra_ms_p50"] == round(child["child_ms_p50"] - child["in_process_ms_p50"], 3))
    assert "Edge TPU in a child process" in table or "Edge TPU child process: not measured" in table
    assert "E. The Pi's budget on paper" in table
    # The fall watch beside the scorer, its memory of upright moments full (common/coach/fall.py).
    assert 0 < result["fall_watch_us_per_pose"] and "the fall watch beside it" in table
    # [group] the cost with 1-4 people side by side (drawn people here), and how often the detector ran.
    rows = result["group"][model]
    assert list(rows) == ["1", "2", "3", "4"] and [r["followed_median"] for r in rows.values()] == [1, 2, 3, 4]
    assert all(r["ms_mean"] > 0 and r["cpu_ms_per_frame"] > 0 and r["detector_ms"] > 0 for r in rows.values())
    assert rows["1"]["detector_runs_per_100"] > 0  # fewer than max_people followed: it looks for newcomers
    assert "F. Group mode" in table and "G. A class on the Pi on paper" in table
