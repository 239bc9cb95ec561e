"""[boot] deploy/install.sh on a fresh Debian 12, booted under a real systemd (tests/boot.py).

Run by `make test-boot` (and by CI); skipped with the reason where this machine cannot make or boot
a container. What it does, as a carer would: copy the working tree into a fresh Debian 12, boot it,
run `deploy/install.sh` as root, then look from outside. The box has no camera, no screen and no
Coral (Google's repository is unreachable here too), so those parts degrade as on a real box
without them; the session test gives the camera service a video file instead, as a carer can.

Two things come from this workplace, not from the product: the model files (the container cannot
reach GitHub or the model hubs; they are handed over with `install.sh --models-from`, as from a USB
stick), and this network's TLS-inspecting proxy, whose CA certificate the test copies into the
container's trust store.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests import boot
from tests.conftest import REPO, SHARED_MODELS, wait_for

pytestmark = pytest.mark.boot

SERVICES = ("camera", "inference", "scoring", "renderer", "uplink")
MODELS_INSIDE = "/srv/silvergym-models"
CONFIG = "/etc/silvergym/silvergym.toml"
SILVERGYM = "/opt/silvergym/.venv/bin/silvergym"
PYTHON = "/opt/silvergym/.venv/bin/python"
# Hardware a container cannot have: doctor may say so, nothing else.
ABSENT_HARDWARE = {"camera", "edge tpu", "display"}
SLOW = boot.slowdown()  # waits stretch under arm64 emulation (make test-boot-arm64)


def model_folder(into: Path) -> Path:
    """Every catalog file this machine has (its model cache and ../shared/models), or a skip."""
    from models import catalog

    into.mkdir()
    for folder in (catalog.cache_dir(), SHARED_MODELS):
        for f in Path(folder).glob("*.tflite") if Path(folder).is_dir() else ():
            shutil.copy(f, into / f.name)
    wanted = [mf.name for name in ("blazepose-full", "movenet-lightning") for mf in catalog.spec(name).files]
    missing = [n for n in wanted if not (into / n).exists()]
    if missing:
        pytest.skip(f"model files {', '.join(missing)} are not on this machine (../shared/models or the model "
                    "cache); the container cannot download them from GitHub or a model hub here")
    return into


def standin_for(arch: str, into: Path) -> None:
    """The stand-in Edge TPU library that works (tests/edgetpu_standin), cross-built for `arch`."""
    from tests.edgetpu_standin.build import SOURCE

    cc = {"arm64": "aarch64-linux-gnu-gcc"}.get(arch, "cc")
    if not shutil.which(cc):
        pytest.skip(f"{cc} is not installed (deploy/system-deps.sh --boot-arm64 installs it)")
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-DSTANDIN_WORKS", "-o", str(into / "libedgetpu.so.1"), str(SOURCE)],
                   check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    reason = boot.why_not_here()
    if reason:
        pytest.skip(reason)
    if not boot.port_free(1883):
        pytest.skip("port 1883 is in use on this machine; the container shares its network and runs Mosquitto there")
    work = tmp_path_factory.mktemp("boot")
    models = model_folder(work / "models")
    if boot.emulated():
        standin_for(boot.arch(), models)
    log = open(work / "debootstrap.log", "ab")
    started = time.monotonic()
    base = boot.base_root(log)
    made_s = time.monotonic() - started
    root = work / "root"
    boot.copy_tree(base, root)
    boot.prepare_emulated(root)
    boot.copy_tree(REPO, root / "root" / "silvergym", exclude=(".venv", ".git", "out", ".pytest_cache"))
    trust = Path("/usr/local/share/ca-certificates")
    if trust.is_dir():
        boot.copy_tree(trust, root / "usr/local/share/ca-certificates")
        (root / "etc/pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
    # apt and pip downloads are kept between runs (the root itself is copied fresh every time).
    binds = [(models, MODELS_INSIDE)]
    for name, inside in (("apt-archives", "/var/cache/apt/archives"), ("pip", "/root/.cache/pip")):
        (boot.cache_dir() / name).mkdir(exist_ok=True)
        binds.append((boot.cache_dir() / name, inside))
    box = boot.Machine(root, binds, work / "console.log")
    try:
        booted_s = box.boot()
        started = time.monotonic()
        extra = []
        if boot.emulated():  # the Pi's box: its Edge TPU library given as a file, a stand-in that works
            extra = ["--libedgetpu", f"{MODELS_INSIDE}/libedgetpu.so.1"]
        done = box.run("bash", "/root/silvergym/deploy/install.sh", "--models-from", MODELS_INSIDE, *extra,
                       check=False, timeout=900 * min(SLOW, 3), env={"DEBIAN_FRONTEND": "noninteractive"})
        (work / "install.log").write_text(done.stdout + done.stderr)
        box.install_output = done.stdout
        print(f"\n{boot.arch()}{' (emulated)' if boot.emulated() else ''}: root made in {made_s:.1f} s (cached: {base}), "
              f"first boot {booted_s:.1f} s, install.sh {time.monotonic() - started:.1f} s, exit {done.returncode}")
        assert done.returncode == 0, f"install.sh exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
        yield box
    finally:
        box.kill()
        shutil.rmtree(root, ignore_errors=True)


def unit(name: str) -> str:
    return f"silvergym@{name}.service"


def main_pids(box) -> dict[str, int]:
    return {s: int(box.systemctl_show(unit(s), "MainPID")["MainPID"]) for s in SERVICES}


def all_active(box) -> bool:
    states = {s: box.systemctl_show(unit(s), "ActiveState")["ActiveState"] for s in SERVICES}
    return all(v == "active" for v in states.values())


def test_install_brings_up_every_service_under_the_target(machine):
    wait_for(lambda: all_active(machine), 60 * SLOW, 0.5, "every silvergym@ service active after install.sh")
    for s in SERVICES:
        props = machine.systemctl_show(unit(s), "Type", "NotifyAccess", "WatchdogUSec", "User", "ActiveState",
                                       "PartOf", "StartLimitIntervalUSec", "StatusErrno")
        # Type=notify: systemd counts the unit active only after the service's READY=1.
        assert props["Type"] == "notify" and props["ActiveState"] == "active", props
        assert props["WatchdogUSec"] == "20s" and props["User"] == "silvergym", props
        assert props["PartOf"] == "silvergym.target", props
        assert props["StartLimitIntervalUSec"] in ("0", "infinity"), "a flapping service must never be locked out"
    assert machine.run("systemctl", "is-active", "silvergym.target").stdout.strip() == "active"
    assert machine.run("systemctl", "is-enabled", "silvergym.target").stdout.strip() == "enabled"
    if boot.emulated():  # the library given as a file loads in a child and finds no Coral: the CPU meanwhile
        assert "no device:" in machine.install_output, machine.install_output[-2000:]
    else:  # a box that cannot download the Edge TPU library still installs, and says why
        assert "installing without the Edge TPU runtime" in machine.install_output
    # Without a camera the camera service waits for one instead of exiting for good.
    journal = machine.run("journalctl", "-u", unit("camera"), "--no-pager", "-o", "cat").stdout
    assert "plug in the USB webcam; waiting for it" in journal


def test_doctor_inside_is_green_but_for_the_hardware_a_container_lacks(machine):
    done = machine.run(SILVERGYM, "doctor", "--config", CONFIG, check=False)
    print("\n" + done.stdout)
    lines = [line for line in done.stdout.splitlines() if line[:4].strip() in ("ok", "warn", "FAIL")]
    assert lines, f"doctor printed no checks (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    names = {line[6:18].strip(): line[:4].strip() for line in lines}
    assert {"config", "runtime", "model", "broker", "font", "disk", "voice"} <= set(names), done.stdout
    not_green = {n: level for n, level in names.items() if level != "ok" and n not in ABSENT_HARDWARE}
    # Without a Coral the shipped Edge TPU model runs on its CPU fallback, and doctor may advise
    # another model for this CPU: then it must say that it is for want of a Coral, with its figures.
    choice = next(line for line in lines if line[6:18].strip() == "model choice")
    if not_green.pop("model choice", None):
        assert "no Coral; measured" in choice and "ms/frame" in choice, choice
    assert not not_green, f"doctor inside the installed box: {not_green}\n{done.stdout}"


@pytest.mark.skipif(boot.emulated(), reason="the stand-in libraries are built for this machine's architecture")
@pytest.mark.parametrize("kind", ["segv_create", "abort_invoke", "hang_invoke"])
def test_a_crashing_or_hanging_edge_tpu_library_never_makes_systemd_restart_inference(machine, kind, tmp_path):
    """[edge] Under the box's real systemd: an Edge TPU library that segfaults when the delegate is
    made, aborts or hangs in invoke (stand-ins built from tests/edgetpu_standin, in the loader's
    path as a real one would be) is survived in inference's child process: the unit is not
    restarted (NRestarts unchanged), its Health says cpu, and the journal has the one line."""
    from tests.edgetpu_standin.build import build, compiler

    if compiler() is None:
        pytest.skip("no C compiler to build the stand-in libraries")
    library = build(kind, tmp_path)
    configure_session(machine)  # frames to infer: a library that fails in invoke fails only then
    # The stand-ins have no Edge TPU kernel: the model they are given is the CPU MoveNet's file (the
    # Edge TPU's has a custom op only a real libedgetpu runs), as tests/test_edge.py does.
    config = machine.root / CONFIG.lstrip("/")
    shipped = config.read_text()
    config.write_text(shipped.replace('model = "movenet-lightning-edgetpu"',
                                      'model = "movenet-lightning-edgetpu"\nmodel_path = '
                                      '"/var/cache/silvergym/models/movenet_single_pose_lightning_ptq.tflite"', 1))
    shutil.copy(library, machine.root / "usr/local/lib/libedgetpu.so.1")
    machine.run("ldconfig")
    try:
        before = int(machine.systemctl_show(unit("inference"), "NRestarts")["NRestarts"])
        since = machine.run("date", "+%Y-%m-%d %H:%M:%S").stdout.strip()
        started = time.monotonic()
        machine.run("systemctl", "restart", "silvergym.target")  # the camera on the video, inference with the library

        def said() -> str:
            return machine.run("journalctl", "-u", unit("inference"), "--since", since, "--no-pager", "-o", "cat").stdout

        failed_so = {"segv_create": "crashed (SIGSEGV)", "abort_invoke": "crashed (SIGABRT)",
                     "hang_invoke": "did not answer within"}[kind]
        wait_for(lambda: failed_so in said(), 60 * SLOW, 0.5, f"inference to say the stand-in {failed_so}")
        fell_s = time.monotonic() - started
        wait_for(lambda: all_active(machine), 60 * SLOW, 0.5, "every service active")
        watch_until = time.monotonic() + 15.0  # a restart storm would show within seconds (RestartSec=5)
        after = before
        while time.monotonic() < watch_until and after == before:
            time.sleep(0.5)  # the polling interval, as wait_for's
            after = int(machine.systemctl_show(unit("inference"), "NRestarts")["NRestarts"])
        line = next(ln for ln in said().splitlines() if failed_so in ln)
        print(f"\n{kind} under systemd: on the CPU {fell_s:.1f} s after `systemctl restart` began, NRestarts {before} -> {after}; "
              f"said: {line}")
        assert after == before and machine.systemctl_show(unit("inference"), "ActiveState")["ActiveState"] == "active"
    finally:
        (machine.root / "usr/local/lib/libedgetpu.so.1").unlink(missing_ok=True)
        machine.run("ldconfig")
        config.write_text(shipped)


def test_the_services_run_confined(machine):
    pid_inside = int(machine.systemctl_show(unit("scoring"), "MainPID")["MainPID"])
    host_pid = machine.host_pid(pid_inside)
    uid = Path(f"/proc/{host_pid}/status").read_text().split("Uid:")[1].split()[0]
    assert machine.run("id", "-u", "silvergym").stdout.strip() == uid, "the service does not run as silvergym"
    mode = machine.run("stat", "-c", "%a %U", "/run/silvergym").stdout.split()
    assert mode == ["700", "silvergym"], f"/run/silvergym is {mode}"

    def writable(path: str) -> bool:
        # In the running service's own mount namespace (ProtectSystem=strict, PrivateTmp...), as its user.
        return machine.run("sh", "-c", f"touch {path}/.probe && rm {path}/.probe", check=False,
                           user="silvergym", in_pid=host_pid).returncode == 0

    allowed = ["/var/lib/silvergym", "/var/cache/silvergym", "/run/silvergym"]
    refused = ["/opt/silvergym", "/etc", "/etc/silvergym", "/usr", "/var/log", "/var/lib", "/root", "/home", "/srv"]
    found = {p: writable(p) for p in allowed + refused}
    print(f"\nwritable by the scoring service: {[p for p, w in found.items() if w]}")
    assert all(found[p] for p in allowed), found
    assert not any(found[p] for p in refused), found
    # Its /tmp is its own (PrivateTmp): what it writes there is not in the box's /tmp.
    machine.run("sh", "-c", "echo x > /tmp/silvergym-private-probe", user="silvergym", in_pid=host_pid)
    assert machine.run("test", "-e", "/tmp/silvergym-private-probe", check=False).returncode != 0


def wait_for_new_pid(box, service: str, old_pid: int, timeout_s: float) -> float:
    start = time.monotonic()

    def restarted() -> bool:
        props = box.systemctl_show(unit(service), "MainPID", "ActiveState")
        return props["ActiveState"] == "active" and int(props["MainPID"]) not in (0, old_pid)

    wait_for(restarted, timeout_s, 0.2, f"{service} restarted and active")
    return time.monotonic() - start


def test_a_hung_service_is_restarted_by_the_watchdog_and_a_killed_one_by_systemd(machine):
    wait_for(lambda: all_active(machine), 60 * SLOW, 0.5, "every service active")
    before = main_pids(machine)
    restarts = int(machine.systemctl_show(unit("scoring"), "NRestarts")["NRestarts"])
    os.kill(machine.host_pid(before["scoring"]), signal.SIGSTOP)  # hung: alive, but no WATCHDOG=1
    hung_s = wait_for_new_pid(machine, "scoring", before["scoring"], 60 * SLOW)
    journal = machine.run("journalctl", "-u", unit("scoring"), "--no-pager", "-o", "cat").stdout
    assert "Watchdog timeout" in journal, "the restart was not the watchdog's"
    assert int(machine.systemctl_show(unit("scoring"), "NRestarts")["NRestarts"]) == restarts + 1
    after = main_pids(machine)
    assert {s: p for s, p in after.items() if s != "scoring"} == {s: p for s, p in before.items() if s != "scoring"}, \
        "another service was restarted too"

    kills = []
    for _ in range(3):  # three crashes in a row: each comes back, no lockout
        pid = main_pids(machine)["camera"]
        os.kill(machine.host_pid(pid), signal.SIGKILL)
        kills.append(wait_for_new_pid(machine, "camera", pid, 30 * SLOW))
    others = main_pids(machine)
    assert all(others[s] == after[s] for s in SERVICES if s != "camera")
    print(f"\nwatchdog: SIGSTOP -> restarted and active in {hung_s:.1f} s (WatchdogSec=20, RestartSec=5); "
          f"SIGKILL -> active again in {', '.join(f'{k:.1f}' for k in kills)} s")


SHORT_SQUAT = "/etc/silvergym/squat_short.json"
CLIP = "/var/lib/silvergym/person.mp4"


def configure_session(box) -> None:
    """As a carer would: the camera on a video file, a 12 s routine (the bundled squat, shortened)."""
    from common.coach import routine as routines
    from common.coach.synthetic import write_person_clip

    squat = routines.to_json(routines.load("squat"))
    squat.update(name="squat_short", duration_s=12.0)
    (box.root / SHORT_SQUAT.lstrip("/")).write_text(json.dumps(squat, ensure_ascii=False))
    write_person_clip(box.root / CLIP.lstrip("/"), routines.load("squat"), seconds=10.0, size=(480, 360))
    box.run("chown", "silvergym:silvergym", CLIP)
    config = box.root / CONFIG.lstrip("/")
    text = config.read_text()
    for old, new in (('source = "auto"', f'source = "{CLIP}"'), ('routine = "squat"', f'routine = "{SHORT_SQUAT}"')):
        assert old in text or new in text, f"deploy/silvergym.toml no longer has {old}"
        text = text.replace(old, new)  # (a second call finds it done)
    config.write_text(text)


def spool_ids(box) -> list[str]:
    script = ("import sqlite3; c = sqlite3.connect('file:/var/lib/silvergym/spool.db?mode=ro', uri=True); "
              "print('\\n'.join(r[0] for r in c.execute('SELECT msg_id FROM outbox ORDER BY msg_id')))")
    return box.run(PYTHON, "-c", script).stdout.split()


def test_a_session_runs_end_to_end_and_survives_a_reboot(machine):
    configure_session(machine)
    password = next(line.split("=", 1)[1] for line in
                    (machine.root / "etc/silvergym/environment").read_text().splitlines()
                    if line.startswith("SILVERGYM_MQTT_PASSWORD="))
    listen = subprocess.Popen(
        ["nsenter", "-t", str(machine.leader), "-m", "-n", "-p", "--root", "env", "-i", f"PATH={boot.PATH_INSIDE}",
         *(f"{k}={v}" for k, v in boot.emulation_env().items()), "mosquitto_sub", "-h", "127.0.0.1", "-u", "silvergym-uplink", "-P", password, "-t", "silvergym/v1/+/+/session",
         "-C", "1", "-W", str(int(180 * SLOW))], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # noqa: the subscription has no acknowledgement to wait on; it only needs to come first
        started = time.monotonic()
        machine.run("systemctl", "restart", "silvergym.target")
        out, err = listen.communicate(timeout=200 * SLOW)
    finally:
        listen.kill()
    session_s = time.monotonic() - started
    assert listen.returncode == 0 and out.strip(), f"no session reached the box's Mosquitto: {err}"
    record = json.loads(out)
    summary = record["summary"]
    print(f"\nsession from the video file to Mosquitto in {session_s:.1f} s: score {summary['score']}, "
          f"{summary.get('reps')} reps, {summary.get('frames_scored')} frames scored, routine {record['routine']}")
    assert record["routine"] == "squat_short" and 0 <= summary["score"] <= 100
    spooled = spool_ids(machine)
    assert spooled, "the unacknowledged session should wait in the spool (no collector here)"

    off_s = machine.poweroff()
    booted_s = machine.boot()
    start = time.monotonic()
    wait_for(lambda: all_active(machine), 90 * SLOW, 0.5, "every service active after the reboot")
    up_s = booted_s + time.monotonic() - start
    assert set(spooled) <= set(spool_ids(machine)), "the spool lost records over a reboot"
    print(f"reboot: poweroff {off_s:.1f} s, boot to all five services active {up_s:.1f} s, "
          f"{len(spooled)} spooled record(s) intact")


@pytest.mark.skipif(not boot.emulated(), reason="compares another architecture's model outputs with this machine's "
                                                "(make test-boot-arm64)")
def test_both_models_on_the_pis_runtime_give_this_machines_outputs(machine, tmp_path):
    """The Pi's TFLite runtime (ai-edge-litert for aarch64, emulated) against this machine's, on
    real people: frames of media/demo's squat clip (the repository's own, so a fresh clone runs
    it): every keypoint both runtimes are sure of (score >= SURE) within TOLERANCE_PX for each
    model; and with ../shared, BlazePose from MediaPipe's own region on the three-person photo
    within the [accuracy] targets of MediaPipe's reference landmarks."""
    import cv2

    from tests.conftest import MEDIA
    from tests.reference.arch_outputs import outputs

    capture = cv2.VideoCapture(str(REPO / "media/demo/squats_5reps.mp4"))
    pictures = []
    for index in range(60):
        ok, frame = capture.read()
        if ok and index in SQUAT_FRAMES:
            pictures.append((tmp_path / f"squat_{index}.png", None))
            cv2.imwrite(str(pictures[-1][0]), frame)
    capture.release()
    if (MEDIA / "three_people.jpg").exists():
        pictures.append((MEDIA / "three_people.jpg", REPO / "tests/reference/mediapipe/three_people.json"))
    gaps: dict[str, list[float]] = {"movenet-lightning": [], "blazepose-full": []}
    started = time.monotonic()
    for picture, reference in pictures:
        inside = f"/var/lib/silvergym/{picture.name}"
        shutil.copy(picture, machine.root / inside.lstrip("/"))
        argv = [PYTHON, "/opt/silvergym/tests/reference/arch_outputs.py", inside]
        if reference is not None:
            shutil.copy(reference, machine.root / "var/lib/silvergym/reference.json")
            argv.append("/var/lib/silvergym/reference.json")
        done = machine.run(*argv, env={"PYTHONPATH": "/opt/silvergym", "SILVERGYM_MODEL_DIR": "/var/cache/silvergym/models"},
                           timeout=900)
        pi = json.loads(done.stdout.strip().splitlines()[-1])
        here = outputs(str(picture), str(reference) if reference else "")
        if reference is not None:
            got = pi["mediapipe_locked"]
            print(f"\n{pi['machine']} BlazePose from MediaPipe's region on {picture.name}: image mean "
                  f"{got['image_mean_px']:.2f} px, p95 {got['image_p95_px']:.2f} px, world {got['world_mean_m'] * 1000:.1f} mm "
                  f"(here: {here['mediapipe_locked']['image_mean_px']:.2f} / {here['mediapipe_locked']['image_p95_px']:.2f} px)")
            assert got["image_mean_px"] <= 2.0 and got["image_p95_px"] <= 5.0 and got["world_mean_m"] <= 0.02
            continue  # three people for a one-person MoveNet: which one it follows is not a runtime's property
        for model in gaps:
            a, b = np.array(pi[model]), np.array(here[model])
            assert a.shape == b.shape, f"{model}: {a.shape} keypoints on {pi['machine']}, {b.shape} here"
            sure = (a[:, 2] >= SURE) & (b[:, 2] >= SURE)
            gaps[model].append(float(np.abs(a[sure, :2] - b[sure, :2]).max()) if sure.any() else 0.0)
    took = time.monotonic() - started
    print(f"\naarch64 runtime vs {platform.machine()} on {len(SQUAT_FRAMES)} squat frames ({took:.0f} s emulated): "
          + "; ".join(f"{m}: max {max(g):.2f} px over keypoints scored >= {SURE}" for m, g in gaps.items()))
    assert all(max(g) <= TOLERANCE_PX for g in gaps.values()), gaps


SQUAT_FRAMES = (0, 9, 14, 19, 29)  # standing, squat bottoms and on the way (311x172 at 10 fps)
SURE = 0.3  # a keypoint either runtime scores lower is a guess: MoveNet int8's guesses jump across the picture
# What the two runtimes' kernels (XNNPACK for x86 and for arm64) may differ by on a keypoint they are
# sure of: 2 px of a 311x172 picture is ~1 px of MoveNet's 192 px input, one step of its int8 output;
# a joint angle does not notice it.
TOLERANCE_PX = 2.0
