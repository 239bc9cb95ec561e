"""A fresh Debian 12 booted under a real systemd, for tests/test_boot.py.

debootstrap makes the root once (cached under ~/.cache/silvergym/boot, or $SILVERGYM_BOOT_CACHE);
each run copies it, so every run starts from the same fresh system. systemd-nspawn boots the copy
with systemd as PID 1 on the host's network (apt and pip inside reach the registries as a carer's
box would), and `nsenter` runs commands inside it, so the test looks at it from outside.
Needs root, debootstrap and systemd-nspawn (deploy/system-deps.sh installs the last two).
"""
from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = "systemd,systemd-sysv,dbus"
PATH_INSIDE = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def port_free(port: int) -> bool:
    """Nobody listens on 127.0.0.1:port (a booted container shares this machine's network)."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def cache_dir() -> Path:
    root = os.environ.get("SILVERGYM_BOOT_CACHE") or Path.home() / ".cache" / "silvergym" / "boot"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


NATIVE = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
QEMU = {"arm64": "aarch64", "amd64": "x86_64"}


def arch() -> str:
    """The Debian architecture the boot tier runs: this machine's, or $SILVERGYM_BOOT_ARCH (arm64 is
    the Raspberry Pi's; on x86_64 it runs under qemu-user emulation, `make test-boot-arm64`)."""
    return os.environ.get("SILVERGYM_BOOT_ARCH") or NATIVE


def emulated() -> bool:
    return arch() != NATIVE


def slowdown() -> float:
    """How much longer waits may take: qemu-user runs arm64 code some 5-20 times slower."""
    return 6.0 if emulated() else 1.0


def binfmt_ready() -> bool:
    """Whether the kernel hands foreign binaries to qemu, with the interpreter preloaded (flag F),
    so it works inside the container's root too. Mounts binfmt_misc if it is not."""
    folder = Path("/proc/sys/fs/binfmt_misc")
    if not (folder / "status").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(folder)], capture_output=True)
    entry = folder / f"qemu-{QEMU.get(arch(), arch())}"
    if not entry.exists() and shutil.which("update-binfmts"):
        subprocess.run(["update-binfmts", "--enable", f"qemu-{QEMU.get(arch(), arch())}"], capture_output=True)
    try:
        text = entry.read_text()
    except OSError:
        return False
    return text.startswith("enabled") and any(line.startswith("flags:") and "F" in line for line in text.splitlines())


# What a Raspberry Pi 4 says in /proc/cpuinfo. Under qemu-user the container reads the x86 host's
# instead, and the TFLite runtime's CPU detection (cpuinfo, for XNNPACK) then crashes in
# allocate_tensors (seen: every CPU model segfaulted under emulation, both fine with this file).
# A real Pi has its own; the emulated one is given it, bind-mounted before anything starts.
PI4_CPUINFO = "".join(f"""processor\t: {n}
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd08
CPU revision\t: 3

""" for n in range(2)) + "Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n"

EMULATED_CPUINFO_UNIT = """[Unit]
Description=A Raspberry Pi's /proc/cpuinfo for the emulated box (tests/boot.py)
DefaultDependencies=no
Before=sysinit.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/mount --bind /etc/emulated-cpuinfo /proc/cpuinfo

[Install]
WantedBy=sysinit.target
"""


# The CPU qemu emulates: a Raspberry Pi 4's. qemu's default ("max") has features no Pi has, and with
# them the runtime's int8 kernels (XNNPACK, MoveNet) came out wrong by 150 px on every frame, while
# with cortex-a72 (and cortex-a76, the Pi 5's) MoveNet's output equals x86's to the third decimal.
QEMU_CPU = "cortex-a72"


def emulation_env() -> dict[str, str]:
    """What every process in the emulated box needs in its environment (qemu reads QEMU_CPU)."""
    return {"QEMU_CPU": QEMU_CPU} if emulated() else {}


def prepare_emulated(root: Path) -> None:
    """What only the emulated box needs: the Pi's /proc/cpuinfo and CPU (above)."""
    if not emulated():
        return
    conf = root / "etc/systemd/system.conf.d"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "emulated-cpu.conf").write_text(f"[Manager]\nDefaultEnvironment=QEMU_CPU={QEMU_CPU}\n")
    (root / "etc/emulated-cpuinfo").write_text(PI4_CPUINFO)
    unit = root / "etc/systemd/system/emulated-cpuinfo.service"
    unit.write_text(EMULATED_CPUINFO_UNIT)
    wants = root / "etc/systemd/system/sysinit.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / "emulated-cpuinfo.service").symlink_to("/etc/systemd/system/emulated-cpuinfo.service")
    # The services' own mount namespaces (ProtectSystem=strict, ...) get a fresh /proc: bound there too.
    dropin = root / "etc/systemd/system/silvergym@.service.d"
    dropin.mkdir(parents=True, exist_ok=True)
    (dropin / "emulated-cpuinfo.conf").write_text("[Service]\nBindReadOnlyPaths=/etc/emulated-cpuinfo:/proc/cpuinfo\n")


def why_not_here() -> str | None:
    """The reason this machine cannot run the boot tier (for this architecture), or None."""
    if os.geteuid() != 0:
        return "the boot tests need root (debootstrap, systemd-nspawn)"
    for tool in ("debootstrap", "systemd-nspawn", "nsenter"):
        if not shutil.which(tool):
            return f"{tool} is not installed (deploy/system-deps.sh --boot installs it)"
    if emulated() and not binfmt_ready():
        return (f"{arch()} binaries cannot run here: qemu-user-static with binfmt_misc is needed "
                "(deploy/system-deps.sh --boot-arm64 installs it)")
    return None


def base_root(log) -> Path:
    """The cached minimal Debian 12 with systemd for arch(), made by debootstrap on first use
    (~40 s native, ~2 min for arm64 under emulation)."""
    base = cache_dir() / (f"{SUITE}-minbase" if not emulated() else f"{SUITE}-{arch()}-minbase")
    if (base / ".complete").exists():
        return base
    shutil.rmtree(base, ignore_errors=True)
    subprocess.run(["debootstrap", f"--arch={arch()}", "--variant=minbase", f"--include={BASE_PACKAGES}", SUITE,
                    str(base), MIRROR], check=True, stdout=log, stderr=subprocess.STDOUT)
    (base / ".complete").touch()
    return base


def copy_tree(src: Path, dst: Path, exclude: tuple[str, ...] = ()) -> None:
    """cp -a of src's contents into dst (tar keeps owners, modes, links and device nodes)."""
    dst.mkdir(parents=True, exist_ok=True)
    args = [f"--exclude=./{e}" for e in exclude]
    pack = subprocess.Popen(["tar", "-C", str(src), *args, "-cf", "-", "."], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-C", str(dst), "-xf", "-"], stdin=pack.stdout, check=True)
    pack.stdout.close()
    if pack.wait() != 0:
        raise RuntimeError(f"copying {src} failed")


class Machine:
    """One booted container. `run` executes inside it; `boot` / `poweroff` as on a real box."""

    def __init__(self, root: Path, binds: list[tuple[Path, str]], log_path: Path):
        self.root, self.binds, self.log_path = root, binds, log_path
        self.nspawn: subprocess.Popen | None = None
        self.leader = 0  # the container's PID 1 (systemd), as seen from the host

    def boot(self, timeout_s: float | None = None) -> float:
        """Boot; returns the seconds until systemd reports the system up (running or degraded)."""
        timeout_s = timeout_s or 120.0 * slowdown()
        start = time.monotonic()
        args = ["systemd-nspawn", "--register=no", "--keep-unit", "--quiet", "-D", str(self.root), "-b"]
        args += [f"--setenv={k}={v}" for k, v in emulation_env().items()]
        args += [f"--bind={src}:{dst}" for src, dst in self.binds]
        self.leader = 0
        self.nspawn = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=open(self.log_path, "ab"),
                                       stderr=subprocess.STDOUT, start_new_session=True,
                                       env={**os.environ, **emulation_env()})
        self.leader = self._find_systemd(timeout_s)
        deadline, state = start + timeout_s, ""
        while time.monotonic() < deadline:
            # Until its bus is up systemctl cannot answer at all; then "starting" until boot ends.
            state = self.run("systemctl", "is-system-running", check=False, timeout=timeout_s).stdout.strip()
            if state in ("running", "degraded"):
                return time.monotonic() - start
            time.sleep(0.2)
        raise AssertionError(f"the container's systemd reports {state!r} {timeout_s} s after boot "
                             f"(log: {self.log_path})")

    def _find_systemd(self, timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.nspawn.poll() is not None:
                raise AssertionError(f"systemd-nspawn exited with {self.nspawn.returncode} (log: {self.log_path})")
            for pid in _descendants(self.nspawn.pid):
                if _comm(pid) == "systemd" and _ns(pid, "pid") != _ns(os.getpid(), "pid"):
                    return pid
            time.sleep(0.1)
        raise AssertionError(f"no systemd inside the container after {timeout_s} s (log: {self.log_path})")

    def run(self, *argv: str, check: bool = True, timeout: float = 600.0, env: dict | None = None,
            user: str | None = None, in_pid: int | None = None) -> subprocess.CompletedProcess:
        """Run argv inside the container (or inside the namespaces of process `in_pid`, a
        container process as seen from the host), with a clean environment."""
        target = in_pid or self.leader
        prefix = ["nsenter", "-t", str(target), "-m", "-u", "-i", "-n", "-p", "-C", "--root"]
        base_env = {"PATH": PATH_INSIDE, "LANG": "C.UTF-8", "HOME": "/root", **emulation_env()}
        argv = ["env", "-i", "--chdir=/", *(f"{k}={v}" for k, v in {**base_env, **(env or {})}.items()), *argv]
        if user:
            argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", *argv]
        done = subprocess.run(prefix + argv, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **emulation_env()})
        if check and done.returncode != 0:
            raise AssertionError(f"inside the container, {' '.join(argv[-6:])} exited {done.returncode}:\n"
                                 f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    def systemctl_show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.run("systemctl", "show", unit, *(f"--property={p}" for p in props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def host_pid(self, pid_inside: int) -> int:
        """The host's pid of a process the container calls `pid_inside`."""
        for pid in _descendants(self.leader):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            nspid = next((line.split()[-1] for line in status.splitlines() if line.startswith("NSpid:")), "")
            if nspid == str(pid_inside):
                return pid
        raise LookupError(f"no container process {pid_inside}")

    def poweroff(self, timeout_s: float = 60.0) -> float:
        start = time.monotonic()
        self.run("systemctl", "poweroff", check=False)
        try:
            self.nspawn.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the container did not power off within {timeout_s} s")
        return time.monotonic() - start

    def kill(self) -> None:
        """Stop everything now. Killing nspawn alone would leave the container's systemd running;
        killing that PID 1 ends its whole PID namespace."""
        if self.leader:
            try:
                os.kill(self.leader, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.nspawn and self.nspawn.poll() is None:
            os.killpg(self.nspawn.pid, signal.SIGKILL)
        if self.nspawn:
            self.nspawn.wait(timeout=30)


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                children = Path(f"/proc/{p}/task/{task}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                out.append(child)
                todo.append(child)
    return out


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _ns(pid: int, kind: str) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return ""
