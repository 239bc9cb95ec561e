"""`silvergym doctor`: one line per check, each problem with its fix; exit 1 if something needed
is missing (warnings — no Coral, broker unreachable — do not fail: the product copes with them)."""
from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from common import config as configuration


@dataclass
class Check:
    name: str
    level: str  # "ok" | "warn" | "FAIL"
    detail: str

    def line(self) -> str:
        return f"{self.level:4s}  {self.name:12s} {self.detail}"


def check_camera(cfg) -> Check:
    from common.media import SourceError, first_camera, source_kind

    source = cfg.camera.source
    if source in ("auto", "sim"):
        found = first_camera()
        if found:
            return Check("camera", "ok", f"{found}")
        return Check("camera", "FAIL", "no camera (/dev/video*): plug the USB webcam in and check `v4l2-ctl --list-devices`")
    try:
        kind = source_kind(source)
    except SourceError as exc:
        return Check("camera", "FAIL", str(exc))
    path = f"/dev/video{source}" if source.isdigit() else source
    if not Path(path).exists():
        return Check("camera", "FAIL", f"{path} does not exist: check camera.source and the cable")
    if kind == "device" and not os.access(path, os.R_OK):
        return Check("camera", "FAIL", f"{path} is not readable: add the service user to group video")
    return Check("camera", "ok", f"{kind} {path}")


def edgetpu_state(cfg=None) -> tuple[str, str]:
    """(state, detail): 'ready' (the library loads in a child and a probe inference answers),
    'no library', 'no device' (the library answered that it found none), 'broken' (it crashed,
    hung or failed: detail says which and the fix) or 'no model' (no Edge TPU model file here
    to probe with)."""
    from models import catalog, runtime
    from models.tpu_worker import probe

    library = cfg.inference.edgetpu_library if cfg is not None else runtime.EDGETPU_LIB
    if not runtime.edgetpu_library_present(library):
        return "no library", ""
    try:  # the model the service would give it: its own file when one is set
        model = (cfg.inference.model_path if cfg is not None and cfg.inference.model_path else
                 catalog.paths("movenet-lightning-edgetpu", cfg.inference.cache_dir if cfg is not None else "")["model"])
    except catalog.ModelError as exc:
        return "no model", str(exc)
    # Probed even without a Coral in sight: the library's own answer (or crash) is what tells.
    return probe(str(model), library, cfg.inference.tpu_device if cfg is not None else "")


def check_edgetpu(cfg, state: str, detail: str = "") -> Check:
    from models import catalog, runtime

    spec = catalog.spec(cfg.inference.model)
    needed = spec.runtime == "edgetpu"
    level = "FAIL" if cfg.inference.require_tpu else "warn"
    meanwhile = "; runs on the CPU meanwhile" if needed else ""
    if state == "no library":
        if not needed:
            return Check("edge tpu", "ok", f"not used by {spec.name}")
        return Check("edge tpu", level, f"{cfg.inference.edgetpu_library} missing: install the libedgetpu built for this "
                                        f"TFLite runtime (sudo deploy/install.sh --libedgetpu FILE, README 'Models'){meanwhile}")
    if state == "ready":
        return Check("edge tpu", "ok", f"library and device answer in a child process ({detail})")
    if state in ("broken", "no model"):
        return Check("edge tpu", level if needed else "warn", f"{detail}{meanwhile}")
    return Check("edge tpu", level if needed else "ok",
                 runtime.edgetpu_device_hint(cfg.inference.tpu_device) + meanwhile)


# The fewest poses a second that still coach well (BlazePose tracks and reps count at 15; shared
# with scoring's log), with a fifth kept free for the camera, scoring and the TV.
from common.coach import MIN_POSES_PER_S  # noqa: E402 (re-exported: bench docs and tests read it here)
HEADROOM = 0.8


def probe_ms_per_frame(model: str, threads: int, cache: str = "", frames: int = 20) -> float:
    """Median ms per frame of `model` on this CPU, on a drawn person (a short probe, ~1 s)."""
    import time

    import numpy as np

    from common.cli.bench import bench_frames
    from models.estimator import Estimator

    est = Estimator(model, cache=cache, threads=threads)
    pictures = bench_frames(None, count=5)  # the drawn person bench uses without ../shared
    times = []
    for i in range(frames + 3):
        t0 = time.perf_counter()
        est.estimate(pictures[i % len(pictures)], i / 30)
        if i >= 3:  # the first calls pack weights and fill caches
            times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


def recommend_model(cfg, tpu_usable: bool, probe=probe_ms_per_frame) -> Check:
    """Which model this box should run, and why: the Coral's when it has one; else BlazePose when
    this CPU runs it fast enough (its 3D angles see a squat from the front), else MoveNet."""
    from models import catalog, runtime

    configured = cfg.inference.model
    if tpu_usable:
        tpu_models = [n for n, s in catalog.load_catalog().items() if s.runtime == "edgetpu"]
        choice = configured if configured in tpu_models else tpu_models[0]
        return _choice(configured, choice, "the Edge TPU runs it; the CPU stays free for the rest")
    budget_ms = 1000.0 / MIN_POSES_PER_S * HEADROOM
    measured, unusable = {}, []
    for name in ("blazepose-full", "movenet-lightning"):
        try:
            catalog.paths(name, cfg.inference.cache_dir)
        except catalog.ModelError:
            continue  # not fetched: not a choice on this box
        threads = cfg.inference.threads_for(name)
        try:
            measured[name] = (probe(name, threads, cfg.inference.cache_dir), threads)
        except (catalog.ModelError, runtime.RuntimeMissing) as exc:
            unusable.append(f"{name}: {exc}")  # the model and runtime lines above say what to do
    if not measured:
        why = "; ".join(unusable) or "no CPU model fetched to measure: run `silvergym models fetch`"
        return Check("model choice", "warn", why)
    figures = ", ".join(f"{n} {ms:.0f} ms/frame on {t} thread{'s' if t > 1 else ''}" for n, (ms, t) in measured.items())
    fast_enough = [n for n, (ms, _) in measured.items() if ms <= budget_ms]
    if not fast_enough:
        return Check("model choice", "warn", f"no Coral and this CPU is too slow for {MIN_POSES_PER_S:.0f} poses a "
                                             f"second ({figures}; needs ≤ {budget_ms:.0f}): plug in a Coral USB Accelerator")
    choice = fast_enough[0]  # blazepose-full first: 3D angles
    why = (f"no Coral; measured {figures} (≤ {budget_ms:.0f} keeps {MIN_POSES_PER_S:.0f} poses/s with room for the rest)"
           + ("; its 3D angles see squats and leans from the front" if choice == "blazepose-full"
              else "; BlazePose is too slow here, MoveNet's 2D angles need the routine's camera view"))
    running = catalog.spec(configured).cpu_fallback or configured  # what runs without the Coral
    return _choice(running, choice, why, configured)


def _choice(running: str, choice: str, why: str, configured: str = "") -> Check:
    if running == choice:
        return Check("model choice", "ok", f"{choice} is right for this box: {why}")
    shown = configured or running
    return Check("model choice", "warn", f"{choice} recommended instead of {shown}: {why}; "
                                         f"set inference.model = \"{choice}\"")


def check_models(cfg) -> list[Check]:
    from models import catalog

    spec = catalog.spec(cfg.inference.model)
    names = [spec.name] + ([spec.cpu_fallback] if spec.cpu_fallback else [])
    out = []
    for name in names:
        try:
            if cfg.inference.model_path and name == spec.name:
                ok = Path(cfg.inference.model_path).exists()
                out.append(Check("model", "ok" if ok else "FAIL", f"{name} from {cfg.inference.model_path}"
                                 + ("" if ok else " which does not exist")))
                continue
            catalog.paths(name, cfg.inference.cache_dir)
            out.append(Check("model", "ok", f"{name} present, sha256 verified"))
        except catalog.ModelError as exc:
            out.append(Check("model", "FAIL", str(exc)))
    return out


def check_runtime() -> Check:
    from models import runtime

    try:
        return Check("runtime", "ok", runtime.runtime_name())
    except runtime.RuntimeMissing as exc:
        return Check("runtime", "FAIL", str(exc))


def check_broker(cfg, timeout_s: float = 3.0) -> Check:
    u = cfg.uplink
    where = f"{u.host}:{u.port}"
    try:
        with socket.create_connection((u.host, u.port), timeout=timeout_s):
            pass
    except OSError as exc:
        return Check("broker", "warn", f"{where} unreachable ({exc.strerror or exc}); sessions are spooled until it "
                                       "answers: check the network, uplink.host/port, `systemctl status mosquitto`")
    client = configuration.mqtt_client(u, "silvergym-doctor")
    result = {}
    client.on_connect = lambda c, ud, flags, rc, props: result.setdefault("rc", rc)
    try:
        client.connect(u.host, u.port, keepalive=5)
        client.loop_start()
        import time
        deadline = time.monotonic() + timeout_s
        while "rc" not in result and time.monotonic() < deadline:
            time.sleep(0.05)
    except (OSError, ValueError) as exc:
        return Check("broker", "warn", f"{where}: {exc}; check uplink.tls_* files")
    finally:
        client.loop_stop()
        client.disconnect()
    rc = result.get("rc")
    if rc is None:
        return Check("broker", "warn", f"{where} did not answer the MQTT handshake (TLS port without uplink.tls_ca?)")
    if rc.is_failure:
        return Check("broker", "FAIL", f"{where} refused the login: {rc}; fix uplink.username / SILVERGYM_MQTT_PASSWORD")
    return Check("broker", "ok", f"{where} accepts our login")


def check_font(cfg) -> Check:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from common.fonts import FontError, find_font

    try:
        return Check("font", "ok", f"Hangul from {find_font(cfg.renderer.font)}")
    except FontError as exc:
        return Check("font", "FAIL", str(exc))


def check_display(cfg) -> Check:
    if cfg.renderer.display == "headless":
        return Check("display", "ok", "headless by config")
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return Check("display", "ok", "desktop session")
    if Path("/dev/dri/card0").exists():
        ok = os.access("/dev/dri/card0", os.R_OK | os.W_OK)
        return Check("display", "ok" if ok else "FAIL", "KMS/DRM /dev/dri/card0" +
                     ("" if ok else " not writable: add the service user to groups video and render"))
    level = "FAIL" if cfg.renderer.display == "fullscreen" else "warn"
    return Check("display", level, "no display found (no /dev/dri/card0, no DISPLAY): connect the TV by HDMI; "
                                   "the renderer runs headless meanwhile")


def check_disk(cfg) -> Check:
    from common.spool import default_path

    path = Path(cfg.uplink.spool_path or default_path())
    folder = next((p for p in [path.parent, *path.parents] if p.exists()), Path("/"))
    free_mb = shutil.disk_usage(folder).free / 1e6
    if free_mb < 100:
        return Check("disk", "FAIL", f"{free_mb:.0f} MB free at {folder}: the spool needs room; free some space")
    return Check("disk", "ok", f"{free_mb:.0f} MB free for the spool at {folder}")


def check_framing(cfg) -> Check:
    """Whether the last sessions' movement kept leaving the picture (the scoring service keeps
    their framing beside its spool): a camera too low, too close or turned away is fixed by hand."""
    from common.coach.framing import ADVICE, framing_record_path, read_framing
    from common.spool import default_path

    kept = read_framing(framing_record_path(cfg.uplink.spool_path or default_path()))
    if not kept:
        return Check("framing", "ok", "no session yet to judge the camera's view by")
    advised = [e for e in kept if e["framing"].get("advice") in ADVICE]
    if not advised:
        worst = max(float(e["framing"].get("partly_in_view", 0)) for e in kept)
        return Check("framing", "ok", f"the participant was in view in the last {len(kept)} session(s) "
                                      f"(at most {worst:.0%} of a session only partly)")
    last = advised[-1]["framing"]
    return Check("framing", "warn", f"in {len(advised)} of the last {len(kept)} session(s) the movement left the "
                                    f"picture (last: {float(last.get('partly_in_view', 0)):.0%} of the session): "
                                    f"{ADVICE[last['advice']]}")


def check_voice(cfg) -> Check:
    if not cfg.renderer.voice:
        return Check("voice", "ok", "off by config")
    if shutil.which("espeak-ng"):
        return Check("voice", "ok", "espeak-ng")
    return Check("voice", "warn", "espeak-ng missing: `sudo apt install espeak-ng` for spoken cues")


SERVICE_ENVIRONMENT = Path("/etc/silvergym/environment")


def read_service_secrets(path: Path = SERVICE_ENVIRONMENT) -> None:
    """The services read their broker password from systemd's EnvironmentFile; `sudo silvergym
    doctor` reads the same file, so it logs in as the uplink does instead of reporting a refused
    login that is not there. Values already in the environment win; others can't read the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.startswith("SILVERGYM_") and key not in os.environ:
            os.environ[key] = value.strip().strip('"')


def run(args) -> int:
    read_service_secrets()
    try:
        cfg = configuration.load(args.config, args.overrides)
    except configuration.ConfigError as exc:  # the user's input, not the box: exit 2 as every command
        print(Check("config", "FAIL", str(exc)).line())
        return 2
    tpu, tpu_detail = edgetpu_state(cfg)
    checks = [Check("config", "ok", configuration.where_read(args.config)),
              *(Check("config", "warn", ignored) for ignored in configuration.ignored_settings(cfg)),
              check_runtime(), check_camera(cfg),
              check_edgetpu(cfg, tpu, tpu_detail), *check_models(cfg), recommend_model(cfg, tpu == "ready"), check_broker(cfg),
              check_font(cfg), check_display(cfg), check_disk(cfg), check_voice(cfg), check_framing(cfg)]
    for c in checks:
        print(c.line(), flush=True)
    failed = [c for c in checks if c.level == "FAIL"]
    print(f"{len(failed)} problem(s) to fix" if failed else "all needed parts are in place")
    return 1 if failed else 0
