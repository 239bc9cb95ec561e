"""The benchmark table for docs/benchmarks.md, from `silvergym bench` results."""
from __future__ import annotations

from pathlib import Path


def _verdict(value, target, higher_is_better=True) -> str:
    if value is None or value != value:
        return "n/a"
    ok = value >= target if higher_is_better else value <= target
    return "meets" if ok else f"misses by {abs(value - target):.2f}"


def table(r: dict) -> str:
    lines = [f"Machine: {r['machine']}; {r['seconds']} s per phase; frames: {r['frames_from']}.", ""]
    lines += ["| figure | " + " | ".join(r["models"]) + " |", "|---|" + "---|" * len(r["models"])]

    def row(label, fn):
        # None is a figure this run could not measure (e.g. no person in drawn frames): say so.
        lines.append(f"| {label} | " + " | ".join(str(fn(m)).replace("None", "not measured")
                                                   for m in r["models"].values()) + " |")

    row("1. bare model: backend", lambda m: m["bare"]["backend"])
    row("1. bare model: fps", lambda m: m["bare"]["fps"])
    row("1. bare model: ms p50 / p95", lambda m: f"{m['bare']['ms_p50']} / {m['bare']['ms_p95']}")
    row("2. pipeline unpaced: inference fps", lambda m: m["pipeline"]["inference_fps"])
    row("2. **pipeline_ratio** (target ≥ 0.9)", lambda m: f"{m['pipeline_ratio']} ({_verdict(m['pipeline_ratio'], 0.9)})")
    row("2b. one interpreter thread: bare fps / pipeline fps",
        lambda m: f"{m['bare_1thread']['fps']} / {m['pipeline_1thread']['inference_fps']}")
    row("2b. pipeline_ratio with one interpreter thread",
        lambda m: f"{m['pipeline_ratio_1thread']} ({_verdict(m['pipeline_ratio_1thread'], 0.9)})")
    row("3. paced 30 fps: capture→Score ms p50 / p95 / p99",
        lambda m: f"{m['paced30']['latency_ms_p50']} / {m['paced30']['latency_ms_p95']} / {m['paced30']['latency_ms_p99']}")
    row("3. p95 target (model p50 + 10 ms)",
        lambda m: f"{m['latency_target_ms']} ({_verdict(m['paced30']['latency_ms_p95'], m['latency_target_ms'], False)})")
    row("3. frames dropped per s", lambda m: m["paced30"]["frames_dropped_per_s"])
    row("3. inference fps at 30 fps in", lambda m: m["paced30"]["inference_fps"])
    row("4. renderer stalled + broker down: inference fps", lambda m: m["isolated"]["inference_fps"])
    row("4. **isolation_ratio** (target ≥ 0.95)", lambda m: f"{m['isolation_ratio']} ({_verdict(m['isolation_ratio'], 0.95)})")
    row("7. naive single loop, same stall: fps", lambda m: m["naive_stalled"]["fps"])
    row("7. pipeline ÷ naive under the stall", lambda m: m["pipeline_over_naive"])
    row("2. CPU cores busy per service (of 2)",
        lambda m: ", ".join(f"{k} {v}" for k, v in m["pipeline"].get("cpu_cores", {}).items()))
    row("6. resident memory MB per service",
        lambda m: ", ".join(f"{k} {v}" for k, v in m["rss_mb"].items()))
    b = r["bus"]
    lines += ["", "| bus (one 640x480 BGR frame, publish → receive) | p50 µs | p99 µs | GB/s |", "|---|---|---|---|"]
    for kind in ("ipc", "tcp"):
        lines.append(f"| {kind} | {b[kind]['frame_us_p50']} | {b[kind]['frame_us_p99']} | {b[kind]['gb_per_s']} |")
    lines += ["", "| codec (median µs) | |", "|---|---|"]
    for k, v in b["codec_us"].items():
        lines.append(f"| {k.replace('_', ' ')} | {v} |")
    lines += ["", f"Scoring: {r['scoring_us_per_pose']} µs per Pose (median, squat routine, participant at 0.8x tempo), "
              f"of which the alignment (online time warping, ±3 s window on a 0.01 s grid): "
              f"{r.get('alignment_us_per_pose', 'not measured')} µs."]
    return "\n".join(lines)


def write_markdown(r: dict, path: Path, command: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = [
        "# Benchmarks", "",
        f"Made by `{command}` on this project's CI machine kind; regenerate with the same command.",
        "Every figure below comes from that one run, measured side by side; medians unless a percentile is named.",
        "", table(r), "",
        "## Reading it", "",
        "- *pipeline_ratio*: inference rate inside the full five-process graph (camera decoding and publishing, "
        "scoring, renderer drawing at 15 fps, uplink) over the bare interpreter loop. The services share the "
        "machine's 2 cores with the interpreter's 2 threads; what the ratio misses is CPU the other processes "
        "take, not waiting: the isolation row shows inference does not slow when the renderer stalls.",
        "- Why pipeline_ratio misses 0.9 here: row 2b runs the interpreter on one thread, leaving a core to "
        "the other services; its ratio tells how much of the gap is the bus and the graph (what remains) and "
        "how much is CPU sharing. The row \"CPU cores busy\" shows the camera (decoding and "
        "copying 640x480 frames at the inference rate), the renderer (15 redraws a second) and scoring taking "
        "CPU from the interpreter, which in the bare loop had both cores to itself. What would close the gap: "
        "on the target box the model runs on the Edge TPU, so the interpreter no longer competes for the CPU; "
        "here, a cheaper renderer (scale once, redraw only what changed), hardware-decoded or raw camera "
        "frames (a V4L2 webcam delivers raw or MJPEG, not mp4), or one interpreter thread so the other "
        "services keep a core.",
        "- `movenet-lightning-edgetpu` cannot be measured on this machine: it has no Coral, so that model runs "
        "as `movenet-lightning` on the CPU (the fallback), whose column is above. On a Pi with a Coral, run "
        "`silvergym bench --model movenet-lightning-edgetpu`.",
        "- *isolation_ratio*: the same graph with the renderer sleeping 200 ms per draw and no broker, over the "
        "normal graph. A ratio above 1 means the stalled renderer simply used less CPU.",
        "- The naive loop is the first prototype's shape: capture → infer → draw → publish in one process. Its "
        "rate is bounded by the stall.",
        "- Latency is from the camera's capture timestamp to the Score arriving at a subscriber (one more hop "
        "than scoring's publish).",
    ]
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
