"""The benchmark table for docs/benchmarks.md, from `silvergym bench` results."""
from __future__ import annotations

from pathlib import Path


def _verdict(value, target, higher_is_better=True) -> str:
    if value is None or value != value:
        return "n/a"
    ok = value >= target if higher_is_better else value <= target
    return "meets" if ok else f"misses by {abs(value - target):.2f}"


def _fmt(v) -> str:
    return "not measured" if v is None else str(v)


def table(r: dict) -> str:
    models = r["models"]
    lines = [f"Machine: {r['machine']}; {r['seconds']} s per phase; frames: {r['frames_from']}.", ""]

    def section(title: str, rows: list[tuple[str, object]]) -> None:
        lines.extend(["", f"| {title} | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)])
        for label, fn in rows:
            # None is a figure this run could not measure (e.g. no person in drawn frames): say so.
            lines.append(f"| {label} | " + " | ".join(_fmt(fn(m)).replace("None", "not measured")
                                                       for m in models.values()) + " |")

    def per_frame(m, name):
        return m["paced30"].get("cpu_ms_per_frame", {}).get(name)

    def budget(m):
        total = m.get("not_model_ms_per_frame")
        if total is None:
            return None
        parts = {n: per_frame(m, n) or 0.0 for n in ("camera", "scoring", "renderer", "uplink")}
        largest = max(parts, key=parts.get)
        verdict = _verdict(total, m["budget_ms_per_frame"], False)
        return f"**{total}** ({verdict}{'' if verdict == 'meets' else f'; largest: {largest} {parts[largest]}'})"

    section("A. CPU per frame at a paced 30 fps (ms of each process's own CPU time ÷ frames)", [
        ("camera (decode, publish)", lambda m: per_frame(m, "camera")),
        ("inference (model, receive, publish)", lambda m: per_frame(m, "inference")),
        ("scoring", lambda m: per_frame(m, "scoring")),
        ("renderer (draws at 30 fps)", lambda m: per_frame(m, "renderer")),
        ("uplink", lambda m: per_frame(m, "uplink")),
        ("camera + bus + scoring + renderer + uplink (budget ≤ 2 ms)", budget),
    ])

    def with_video(m, key):
        return m.get("paced30_video", {}).get(key) if "paced30_video" in m else "not measured"

    section("A2. the renderer with the instructor's video playing (paced 30 fps)", [
        ("renderer ms per draw: drawn instructor / instructor's video",
         lambda m: f"{m['paced30'].get('renderer_ms_per_draw')} / {with_video(m, 'renderer_ms_per_draw')}"),
        ("renderer draws per s: drawn instructor / instructor's video",
         lambda m: f"{m['paced30'].get('renderer_draws_per_s')} / {with_video(m, 'renderer_draws_per_s')}"),
        ("unpaced inference fps, pairs run back to back: drawn instructor / instructor's video",
         lambda m: ", ".join(f"{p['drawn_fps']} / {p['video_fps']} ({p['ratio']})" for p in m.get("video_pairs", []))
         or "not measured"),
        ("**video isolation ratio** (median of the pairs' second ÷ first; target ≥ 0.95)",
         lambda m: f"{m.get('video_isolation_ratio')} ({_verdict(m.get('video_isolation_ratio'), 0.95)})"),
    ])
    section("B. pipeline targets (interpreter threads: default)", [
        ("interpreter threads (auto: cores − 1, at most 4)", lambda m: m["threads_default"]),
        ("bare model: fps / ms p50 / p95", lambda m: f"{m['bare']['fps']} / {m['bare']['ms_p50']} / {m['bare']['ms_p95']}"),
        ("pipeline unpaced: inference fps", lambda m: m["pipeline"]["inference_fps"]),
        ("**pipeline_ratio** (target ≥ 0.9)", lambda m: f"{m['pipeline_ratio']} ({_verdict(m['pipeline_ratio'], 0.9)})"),
        ("paced 30 fps: capture→Score ms p50 / p95 / p99",
         lambda m: f"{m['paced30']['latency_ms_p50']} / {m['paced30']['latency_ms_p95']} / {m['paced30']['latency_ms_p99']}"),
        ("paced 30 fps: the model's own ms per frame inside the graph, p50 / p95 (bare loop: above)",
         lambda m: f"{m['paced30'].get('model_ms_p50')} / {m['paced30'].get('model_ms_p95')}"),
        ("**p95** target (model p50 + 5 ms)",
         lambda m: f"{m['latency_target_ms']} ({_verdict(m['paced30']['latency_ms_p95'], m['latency_target_ms'], False)})"),
        ("paced 30 fps: inference fps / frames dropped per s",
         lambda m: f"{m['paced30']['inference_fps']} / {m['paced30']['frames_dropped_per_s']}"),
        ("unpaced inference fps, pairs run back to back: normal / renderer stalled + broker down",
         lambda m: ", ".join(f"{p['normal_fps']} / {p['stalled_fps']} ({p['ratio']})" for p in m["isolation_pairs"])
         or "not measured"),
        ("**isolation_ratio** (median of the pairs' second ÷ first; target ≥ 0.95)",
         lambda m: f"{m['isolation_ratio']} ({_verdict(m['isolation_ratio'], 0.95)})"),
        ("interpreter on all cores instead: bare fps / pipeline fps / ratio",
         lambda m: (f"{m['bare_all_cores']['fps']} / {m['pipeline_all_cores']['inference_fps']} / "
                    f"{m['pipeline_ratio_all_cores']}") if "pipeline_all_cores" in m else "same as default"),
        ("naive single loop under the stall: fps (pipeline ÷ naive)",
         lambda m: f"{m['naive_stalled']['fps']} ({m['pipeline_over_naive']})"),
        ("CPU cores busy per service, unpaced", lambda m: ", ".join(f"{k} {v}" for k, v in m["pipeline"].get("cpu_cores", {}).items())),
        ("resident memory MB per service", lambda m: ", ".join(f"{k} {v}" for k, v in m["rss_mb"].items())),
    ])
    counts = list(next(iter(models.values()))["threads_table"])
    section("C. the model alone on the CPU: ms per frame p50 (fps)", [
        (f"{n} interpreter thread{'s' if n != '1' else ''}",
         (lambda n: lambda m: f"{m['threads_table'][n]['ms_p50']} ({m['threads_table'][n]['fps']})")(n)) for n in counts])
    agreement = r.get("angle_agreement") or {}
    lines += ["", "| D. movenet-lightning's joint angles against blazepose-full's, real clips | mean \\|Δ\\| ° | p90 ° | angles compared |",
              "|---|---|---|---|"]
    if agreement:
        for clip, a in agreement.items():
            lines.append(f"| {clip} | {_fmt(a['mean_abs_deg'])} | {_fmt(a['p90_abs_deg'])} | {a['angles']} |")
    else:
        lines.append("| not measured: ../shared/media is absent | | | |")
    b = r["bus"]
    lines += ["", "| bus (one 640x480 BGR frame, publish → receive) | p50 µs | p99 µs | GB/s |", "|---|---|---|---|"]
    names = {"ring": "ring (pixels in shared memory, the header over ipc; the graph's way)",
             "ipc": "ipc (pixels in the message)", "tcp": "tcp (pixels in the message; a second box)"}
    for kind in ("ring", "ipc", "tcp"):
        lines.append(f"| {names[kind]} | {b[kind]['frame_us_p50']} | {b[kind]['frame_us_p99']} | {b[kind]['gb_per_s']} |")
    lines += ["", "| codec (median µs) | |", "|---|---|"]
    for k, v in b["codec_us"].items():
        lines.append(f"| {k.replace('_', ' ')} | {v} |")
    copy = b.get("ring_copy_us") or {}
    if copy:
        model_ms = next(iter(r["models"].values())).get("bare", {}).get("ms_p50")
        share = f", {100 * copy['640x480'] / 1000 / model_ms:.1f} % of {next(iter(r['models']))}'s {model_ms} ms a picture" \
            if model_ms and "640x480" in copy else ""
        lines += ["", "Inference copies each picture out of the camera's ring before the model reads it (a slow read "
                  "is not lost when the ring moves on): " + ", ".join(f"{v} µs at {k}" for k, v in copy.items())
                  + f" (median{share})."]
    floor = r.get("wake_floor", {})
    lines += ["", f"Floor: a process whose main thread wakes {floor.get('rate_hz', 30):.0f} times a second to take one "
              f"BlazePose Pose off a real socket (poll, receive, decode, range checks) and do nothing else spends "
              f"{_fmt(floor.get('ms_per_message'))} ms of CPU per message ({floor.get('messages', 0)} messages). "
              f"Camera, scoring and the TV each pay at least this per frame."]
    lines += ["", f"Scoring: {r['scoring_us_per_pose']} µs per Pose (median, squat routine, participant at 0.8x tempo), "
              f"of which the alignment (online time warping, ±3 s window on a 0.01 s grid, every candidate "
              f"position and tempo in one array pass): {r.get('alignment_us_per_pose', 'not measured')} µs; "
              f"the fall watch beside it (its 10 s memory of upright moments full): "
              f"{r.get('fall_watch_us_per_pose', 'not measured')} µs."]
    lines += ["", *pi_budget(r)]
    lines += ["", *group_table(r.get("group") or {}), "", *pi_class_budget(r)]
    child = r.get("edge_child") or {}
    if "child_ms_p50" in child:
        lines += ["", f"Edge TPU in a child process (models/tpu_worker.py): MoveNet on one CPU thread, invoke by invoke "
                  f"alternately ({child['frames']} frames), {_fmt(child['in_process_ms_p50'])} ms in this process and "
                  f"{_fmt(child['child_ms_p50'])} ms in a child: the isolation costs {_fmt(child['extra_ms_p50'])} ms "
                  f"per frame (the input tensor through a pipe and back), against the Coral's ~7 ms for the model."]
    else:
        lines += ["", f"Edge TPU child process: not measured ({child.get('skipped', 'no result')})."]
    return "\n".join(lines)


# sysbench 1.0 `cpu --threads=1` (primes to 10000), events per second, on Raspberry Pi OS 64-bit, no
# overclock: Pi 4 Model B (Cortex-A72, 1.8 GHz) 812, Pi 5 (Cortex-A76, 2.4 GHz) 1847, as published by
# zbotic.in, "Raspberry Pi 5 Benchmarks: Real Performance Numbers vs Pi 4". An integer loop: it
# scales Python and the TFLite CPU kernels only roughly (NEON against AVX2), so these are estimates
# to plan with; `silvergym doctor` and `silvergym bench` on the box itself measure the real thing.
PI_SYSBENCH = {"Pi 4": 812.0, "Pi 5": 1847.0}
CORAL_MOVENET_MS = 7.1  # MoveNet.SinglePose.Lightning on the Edge TPU, coral.ai/models/pose-estimation


def pi_budget(r: dict) -> list[str]:
    """E. What a Pi 4 and a Pi 5 spend per frame, on paper: the model on the Coral (Coral's figure
    plus the child process, scaled) or on the CPU (this run's one-thread figures, scaled), and the
    rest of the pipeline (this run's A, scaled), with what doctor's rule picks and at what fps."""
    here = r.get("sysbench_events_per_s")
    models = r.get("models", {})
    if not here or "blazepose-full" not in models or "movenet-lightning" not in models:
        return ["E. The Pi's budget on paper: not made (it needs sysbench and both CPU models in one run)."]
    from common.cli.doctor import HEADROOM, MIN_POSES_PER_S

    child = (r.get("edge_child") or {}).get("extra_ms_p50", 0.0)
    one_thread = {m: models[m]["threads_table"]["1"]["ms_p50"] for m in ("blazepose-full", "movenet-lightning")}
    rest = max(models[m].get("not_model_ms_per_frame") or 0.0 for m in ("blazepose-full", "movenet-lightning"))
    budget_ms = 1000.0 / MIN_POSES_PER_S * HEADROOM
    rows = {"factor": [], "coral": [], "movenet": [], "blazepose": [], "rest": [], "choice": []}
    for pi, events in PI_SYSBENCH.items():
        k = here / events
        coral = CORAL_MOVENET_MS + child * k
        cpu = {m: ms * k for m, ms in one_thread.items()}
        rows["factor"].append(f"{k:.1f}x")
        rows["coral"].append(f"{coral:.1f} ms → {min(30.0, 1000.0 / coral):.0f} fps")
        rows["movenet"].append(f"{cpu['movenet-lightning']:.1f} ms → {min(30.0, 1000.0 / cpu['movenet-lightning']):.0f} fps")
        rows["blazepose"].append(f"{cpu['blazepose-full']:.1f} ms → {min(30.0, 1000.0 / cpu['blazepose-full']):.0f} fps")
        rows["rest"].append(f"{rest * k:.1f} ms (at 15 fps: {rest * k * 15 / 10:.0f} % of one core)")
        cpu_choice = next((m for m in ("blazepose-full", "movenet-lightning") if cpu[m] <= budget_ms), None)
        rows["choice"].append("with a Coral: movenet-lightning-edgetpu; without: "
                              + (f"{cpu_choice} ({cpu[cpu_choice]:.0f} ≤ {budget_ms:.0f} ms)" if cpu_choice
                                 else "none reaches 15 poses/s on one core: a Coral"))
    return ["| E. The Pi's budget on paper (estimates: this run × a stated factor) | Pi 4 | Pi 5 |", "|---|---|---|",
            f"| factor: this machine's sysbench single-thread ({here:.0f} events/s) over the Pi's (see below) | "
            + " | ".join(rows["factor"]) + " |",
            f"| model on the Coral: MoveNet Lightning {CORAL_MOVENET_MS} ms (Coral's figure) + the child process "
            f"({_fmt(child)} ms here, scaled) | " + " | ".join(rows["coral"]) + " |",
            "| movenet-lightning on the CPU, one thread | " + " | ".join(rows["movenet"]) + " |",
            "| blazepose-full on the CPU, one thread | " + " | ".join(rows["blazepose"]) + " |",
            "| camera + bus + scoring + renderer + uplink per frame (A's larger sum, scaled) | "
            + " | ".join(rows["rest"]) + " |",
            f"| doctor's choice (≤ {budget_ms:.0f} ms a frame keeps {MIN_POSES_PER_S:.0f} poses/s with room) | "
            + " | ".join(rows["choice"]) + " |"]


def group_table(group: dict) -> list[str]:
    """F. Group mode's cost per frame with 1-4 people, as measured (bench.group_bench)."""
    if "skipped" in group or not group:
        return [f"F. Group mode: not measured ({group.get('skipped', 'no result')})."]
    models = {m: rows for m, rows in group.items() if "skipped" not in rows}
    head = "| F. Group mode, one interpreter thread, at 15 fps: people in the picture (its width) | " + \
        " | ".join(models) + " |"
    lines = [head, "|---|" + "---|" * len(models)]
    sizes = list(next(iter(models.values()))) if models else []
    for n in sizes:
        any_row = next(iter(models.values()))[n]
        lines.append(f"| {n} ({any_row['width']} px): ms per frame mean / p95 → fps; CPU ms; followed; detector "
                     "passes per 100 frames | " + " | ".join(
                         f"{m[n]['ms_mean']} / {_fmt(m[n]['ms_p95'])} → {m[n]['fps']}; {m[n]['cpu_ms_per_frame']}; "
                         f"{m[n]['followed_median']}; {m[n]['detector_runs_per_100']}" for m in models.values()) + " |")
    lines.append("| the detector alone on the class picture (one pass over its tiles), ms | " + " | ".join(
        ", ".join(f"{n}: {m[n]['detector_ms']}" for n in sizes) for m in models.values()) + " |")
    return lines


def pi_class_budget(r: dict) -> list[str]:
    """G. How many people a Pi 4 and a Pi 5 follow at 15 fps, on paper: F's per-frame cost scaled
    like E; with the Coral, each person's MoveNet at Coral's figure plus the child process, and the
    rest of F's MoveNet figure (the detector, crops, filters) scaled."""
    here, group, models = r.get("sysbench_events_per_s"), r.get("group") or {}, r.get("models", {})
    have = [m for m in ("blazepose-full", "movenet-lightning") if m in group and "skipped" not in group[m]]
    if not here or len(have) < 2 or "movenet-lightning" not in models:
        return ["G. A class on the Pi on paper: not made (it needs sysbench and both CPU models' group figures in one run)."]
    from common.cli.doctor import HEADROOM, MIN_POSES_PER_S

    budget_ms = 1000.0 / MIN_POSES_PER_S * HEADROOM
    child = (r.get("edge_child") or {}).get("extra_ms_p50", 0.0)
    movenet_alone = models["movenet-lightning"]["threads_table"]["1"]["ms_p50"]
    sizes = list(group["movenet-lightning"])
    rows = {pi: {} for pi in PI_SYSBENCH}
    for pi, events in PI_SYSBENCH.items():
        k = here / events
        for n in sizes:
            people = int(n)
            around = max(0.0, group["movenet-lightning"][n]["ms_mean"] - people * movenet_alone)
            rows[pi][n] = {"coral": people * (CORAL_MOVENET_MS + child * k) + around * k,
                           "movenet-lightning": group["movenet-lightning"][n]["ms_mean"] * k,
                           "blazepose-full": group["blazepose-full"][n]["ms_mean"] * k}

    def most(pi: str, key: str) -> str:
        fits = [n for n in sizes if rows[pi][n][key] <= budget_ms]
        return f"**{fits[-1] if fits else 0}**" + (" (4 is this table's most)" if fits and fits[-1] == sizes[-1] else "")

    lines = ["| G. A class on the Pi on paper (F × E's factor), ms per frame for 1 / 2 / 3 / 4 people → most people "
             f"at 15 fps (≤ {budget_ms:.0f} ms, one core) | Pi 4 | Pi 5 |", "|---|---|---|"]
    for key, label in (("coral", "with the Coral: MoveNet per person on the Edge TPU"),
                       ("movenet-lightning", "movenet-lightning on the CPU"),
                       ("blazepose-full", "blazepose-full on the CPU")):
        lines.append(f"| {label} | " + " | ".join(
            " / ".join(f"{rows[pi][n][key]:.0f}" for n in sizes) + f" → {most(pi, key)}" for pi in PI_SYSBENCH) + " |")
    return lines


def write_markdown(r: dict, path: Path, command: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = [
        "# Benchmarks", "",
        f"Made by `{command}` on this project's CI machine kind; regenerate with the same command.",
        "Every figure below comes from that one run, measured side by side; medians unless a percentile is named.",
        "", table(r), "",
        "## Reading it", "",
        "- **A. The budget.** Each process's own CPU time (user + system, from /proc, all its threads) over "
        "the paced phase, divided by the frames that went through. The sum without the inference service "
        "is what has to fit beside the model on a Pi; on the target box the model itself runs on the Edge "
        "TPU. The bus is inside these figures: each process pays for what it publishes and receives.",
        "- Levers kept (each measured before and after on this machine kind): the renderer scales the camera "
        "picture with OpenCV into a reused buffer that pygame reads as BGR (no RGB copy; pygame's smoothscale "
        "was 2.5 ms of a 2.4 ms→0.74 ms draw), renders each text once, skips a draw when nothing it shows "
        "changed, and runs OpenCV on one thread (its worker pool cost more in wake-ups than one resize "
        "saves); every service keeps frame-sized buffers on the heap instead of a fresh mmap per frame "
        "(camera 2.7→1.7 ms per frame); joint angles are computed in one array pass. The alignment was "
        "already one array pass over every candidate position and tempo.",
        "- Levers added since (measured paced at 30 fps with movenet, per thread from /proc, before → after): "
        "the TV repaints only the regions whose content changed, over a still layer drawn once per layout "
        "(renderer 3.2→2.4 ms per draw; the draw alone 2.4→0.8 ms in a tight loop, 3.1→1.6 ms with cold "
        "caches); frames on one machine go through a ring in shared memory and the bus carries only where "
        "they are (docs/messages.md; camera 1.43→1.08 ms per frame, the ZeroMQ I/O threads of camera, "
        "inference and TV 0.88→0.24 ms per frame together); a Pose's numbers are range-checked with one "
        "fsum over them all (0.17→0.09 ms per message cold); inference rounds them for the message in one "
        "array pass (0.31→0.14 ms per frame cold, on the way to the Score); the fall detector reads only the "
        "trunk's lean.",
        "- Lever measured, not kept: decoding MJPEG at a reduced scale (libjpeg's DCT scaling) pays only "
        "when the sensor gives more pixels than the model needs: a 1280x960 MJPEG frame costs 1.97 ms to "
        "decode in full and 1.2 ms at half size, but the shipped capture is 640x480, which the models need "
        "whole (a person 3 m away is ~300 px tall; the landmark model's input is 256 px).",
        "- What is left of the budget, where it is missed: mostly Python run cold. The *Floor* line under "
        "the tables measures a process that only wakes for each frame's message and decodes it; camera, "
        "scoring and the TV each pay that before any work. The same scoring code costs 0.41 ms per pose in a "
        "tight loop and 1.3 ms when each pose comes 33 ms after the last (caches and predictors cold; pinning "
        "the model to its own core changed it by under 5 %, measured); the renderer's draw likewise doubles. "
        "Per frame that leaves "
        "the camera's decode (FFmpeg's threads and OpenCV's colour conversion, ~0.6 ms), the renderer's "
        "resize of the picture (0.3 ms hot), its blits and skeletons, and in each process the loop, the "
        "message decode and range checks. Scoring's session checkpoint is 0.03 ms per pose (measured), not a "
        "lever. Reaching 2 ms would take fewer Python steps per frame than three processes at 30 fps make "
        "(or compiled hot loops), not another copy saved.",
        "- **A2. The instructor's video.** The same paced graph with a routine built from the bench clip "
        "(`silvergym routine build`'s MJPEG at 640x480, looping): the renderer decodes one video frame per "
        "routine frame beside the camera picture. Per draw = the renderer's CPU time over the draws it "
        "counted (its Health). The video isolation ratio compares inference unpaced with the video playing "
        "against the drawn instructor, in three pairs run back to back (order alternating), as the median of "
        "the pairs' ratios: the rate drifts by several percent between phases minutes apart on a shared "
        "machine. The video is decoded in the renderer's process only, so inference should not slow.",
        "- **B. Pipeline targets.** *pipeline_ratio*: inference rate inside the full five-process graph "
        "(renderer at 30 fps) over the bare interpreter loop, both with the default interpreter threads "
        "(auto: all cores but one, at most 4). The row \"interpreter on all cores\" shows why that is the "
        "default: alone the model is faster on every core, but in the graph it then competes with the "
        "camera, scoring and the TV for the CPU, and the ratio drops.",
        "- *isolation_ratio*: the same graph with the renderer sleeping 200 ms per draw and no broker, over "
        "the normal graph, in three pairs run back to back (order alternating), as the median of the pairs' "
        "ratios, like the video isolation ratio: one pair read 0.90 for MoveNet when the two phases were "
        "minutes apart and the machine's rate had drifted (197 against 177 fps). Above 1 means the stalled "
        "renderer simply used less CPU.",
        "- Latency is from the camera's capture timestamp to the Score arriving at a subscriber (one more "
        "hop than scoring's publish); its target is the bare model's median plus 5 ms. The bare model runs "
        "frame after frame with its caches warm; in the paced graph it runs once every 33 ms, and the row "
        "above the target gives its own time there (each Pose's latency_ms): where the p95 misses, compare "
        "the two first.",
        "- **C. Threads.** The model alone at 1, 2 and 4 interpreter threads. More threads than cores "
        "(4 here) only adds switching. `silvergym doctor` measures the two CPU models on the box it runs on "
        "and says which one to use and why.",
        "- **D. Model choice.** BlazePose's angles come from its world landmarks (within ~2° of MediaPipe's, "
        "tests/test_real_reps.py); MoveNet's from the image's x, y, which foreshortens movement toward the "
        "camera. The difference is what a box without a Coral gives up by running MoveNet.",
        "- `movenet-lightning-edgetpu` cannot be measured on this machine: it has no Coral, so that model runs "
        "as `movenet-lightning` on the CPU (the fallback), whose column is above. On a Pi with a Coral, run "
        "`silvergym bench --model movenet-lightning-edgetpu`.",
        "- The naive loop is the first prototype's shape: capture → infer → draw → publish in one process. Its "
        "rate is bounded by the stall.",
        "- **E. The Pi on paper.** Nothing here ran on a Pi's CPU (emulation's speed says nothing about it), so "
        "each figure is this run's, multiplied by how much slower a Pi's core is: this machine's sysbench "
        "single-thread score over the one published for a Pi 4 (812 events/s, Cortex-A72 at 1.8 GHz) and a Pi 5 "
        "(1847, Cortex-A76 at 2.4 GHz) by zbotic.in (\"Raspberry Pi 5 Benchmarks: Real Performance Numbers vs Pi "
        "4\"). sysbench counts an integer loop; the TFLite kernels use NEON on the Pi and AVX2 here, so read the "
        "model rows as within a factor of two. The Coral's row is Coral's own figure for MoveNet Lightning "
        "(coral.ai/models/pose-estimation, 7.1 ms) plus this run's cost of the child process the Edge TPU runs "
        "in. The Pi has four cores: the model takes one (three threads when it is on the CPU), camera, scoring, "
        "the TV and the uplink share the rest. doctor measures the models on the box itself and says which to "
        "use. `make test-boot-arm64` proves the arm64 software, not its speed.",
        "- **F. Group mode** (scoring.mode = \"group\", models/group.py). The bench clip's person cut to a "
        "320-pixel column and set side by side 1 to 4 times, each column at another moment of the clip, 480 "
        "pixels high; fed at 15 frames a second of clip time after 15 frames for the class to be found. Each "
        "person costs one run of the pose model on their own region; the detector that finds newcomers runs "
        "about once a second while fewer than `max_people` (4) are followed, and never once all are (the "
        "4-people row), unless someone is lost. Its pass grows with the picture's width (one tile per half "
        "picture-height across it). The mean is what decides the sustained rate; the p95 is a frame on "
        "which the detector also ran.",
        "- **G. A class on the Pi on paper**, made like E: F's means times E's factor, against the same "
        "budget as doctor's (66.7 ms a frame at 15 fps with 20 % room), on one core. With the Coral, "
        "each person's MoveNet is Coral's 7.1 ms plus the child process, and the rest of F's MoveNet "
        "figure (F's mean minus that many bare MoveNet runs: the detector's passes, crops, filters) is "
        "scaled. Group mode's interpreters could use three of the Pi's cores, which these figures leave "
        "aside. Scoring pays its per-pose cost (below A) once per person; the TV draws one skeleton per "
        "person. Not run on a Pi, nor on a Coral: estimates to plan with.",
    ]
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
