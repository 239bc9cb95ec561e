"""The bus's runtime folder and process guards: what keeps another local user off the bus and a
second copy of silvergym off the same sockets.

- The socket folder is created, or checked, as the service user's own with mode 0700; a folder
  owned by someone else, a symlink, or a plain file in its place is refused with one line saying
  what to remove. Sockets and files a service creates are 0600 (umask 077).
- One instance: `silvergym run` and each service hold an exclusive lock in that folder; a second
  one is refused with the first's pid.
- Children die with their supervisor (Linux parent-death signal), so a SIGKILLed `silvergym run`
  leaves no orphans holding the sockets.
"""
from __future__ import annotations

import ctypes
import fcntl
import os
import select
import signal
import stat
from pathlib import Path

PR_SET_PDEATHSIG = 1


class RuntimeDirError(RuntimeError):
    """str() is one line: what is wrong with the socket folder and what to do."""


class AlreadyRunning(RuntimeError):
    """str() is one line naming the running instance's pid."""


def folder_problem(path: Path) -> tuple[str, os.stat_result | None]:
    """Why `path` is not a folder of this user's own: "missing", "link", "file" or "owner", with
    its lstat; "" when it is one. The socket folder, the frame ring's and the spool's all ask
    this; each says what to do in its own words and decides about the mode bits."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "missing", None
    if stat.S_ISLNK(info.st_mode):
        return "link", info
    if not stat.S_ISDIR(info.st_mode):
        return "file", info
    if info.st_uid != os.geteuid():
        return "owner", info
    return "", info


def _check_owned_private(path: Path) -> None:
    problem, info = folder_problem(path)
    if problem == "link":
        raise RuntimeDirError(f"{path} is a symbolic link, not the bus's own folder: remove it and start again")
    if problem in ("file", "missing"):
        raise RuntimeDirError(f"{path} is a file, not a folder: remove it (rm {path}) and start again")
    if problem == "owner":
        raise RuntimeDirError(f"{path} belongs to user id {info.st_uid}, not to this service's user "
                              f"({os.geteuid()}): someone else made it; remove it (sudo rm -rf {path}) and start again")
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)


def _check_parent(parent: Path) -> None:
    """Whoever may write in the folder above the socket folder can swap it: that parent must be
    ours or root's, and writable by nobody else (a sticky shared folder such as /tmp itself is
    fine: others cannot remove what is ours there)."""
    info = os.stat(parent)
    sticky_shared = info.st_uid == 0 and info.st_mode & stat.S_ISVTX
    if info.st_uid not in (0, os.getuid()) or (info.st_mode & 0o022 and not sticky_shared):
        raise RuntimeDirError(f"{parent} is writable by other users or belongs to another (user id {info.st_uid}, "
                              f"mode {info.st_mode & 0o777:o}): choose a bus.runtime_dir whose folder only this "
                              "service's user or root can write, e.g. /run/silvergym")


def prepare_runtime_dir(folder: str) -> Path:
    """Create or verify the socket folder as ours, mode 0700, in a parent nobody else may write in."""
    path = Path(folder)
    parent = path.parent
    try:
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise RuntimeDirError(f"{parent} (or a folder above it) is a file, not a folder: remove it or choose "
                              "another bus.runtime_dir") from None
    except OSError as exc:
        raise RuntimeDirError(f"cannot make {parent}: {exc.strerror}; choose another bus.runtime_dir") from None
    _check_parent(parent)
    try:
        path.mkdir(mode=0o700, exist_ok=True)
    except FileExistsError:
        pass  # a file in the way: said below
    _check_owned_private(path)
    strangers = [p.name for p in path.iterdir() if os.lstat(p).st_uid != os.getuid()]
    if strangers:
        raise RuntimeDirError(f"{path} holds files of another user ({', '.join(sorted(strangers)[:3])}): "
                              f"remove them and start again")
    os.umask(0o077)  # sockets (ipc) and files this process creates: the owner's only
    return path


def hold_instance_lock(folder: Path, name: str):
    """An exclusive lock on <folder>/<name>.lock for this process's life; AlreadyRunning if held.
    Returns the open file (keep a reference: closing it releases the lock)."""
    lock_path = folder / f"{name}.lock"
    handle = open(lock_path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "unknown"
        handle.close()
        raise AlreadyRunning(f"silvergym {name} is already running (pid {pid}, lock {lock_path}); "
                             f"stop it first (`systemctl stop silvergym.target` or kill {pid})") from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


SUPERVISOR_PID_ENV = "SILVERGYM_SUPERVISOR_PID"


def die_with_supervisor() -> None:
    """When started by `silvergym run` (its pid in the environment), ask Linux to SIGTERM this
    process when the supervisor dies, and stop at once if it already has (a no-op elsewhere)."""
    supervisor = os.environ.get(SUPERVISOR_PID_ENV)
    if not supervisor:
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if str(os.getppid()) != supervisor:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


class SignalSafeEvent:
    """A flag that a signal handler may set: what every stop and wake-up set from a handler is.

    threading.Event.set() takes the lock that Event.wait() holds while it checks the flag; a
    signal landing in that moment runs its handler on the same thread, which then waits for a
    lock its own thread holds, and the process ignores SIGTERM for good (measured: 6 of 20
    stops hung with a loop that waits with a short timeout; the red team saw 12 of 20). This one sets a plain attribute and
    writes a byte to a pipe, neither of which takes a lock; wait() sleeps in select() on the pipe.
    """

    def __init__(self):
        self._flag = False
        self._read_fd, self._write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def set(self) -> None:
        self._flag = True
        try:
            os.write(self._write_fd, b"!")
        except OSError:  # the pipe is full (it already wakes every waiter) or closed at exit
            pass

    def is_set(self) -> bool:
        return self._flag

    def clear(self) -> None:
        self._flag = False
        try:
            while os.read(self._read_fd, 4096):
                pass
        except OSError:  # drained
            pass

    def wait(self, timeout: float | None = None) -> bool:
        """True once set; otherwise False after `timeout` seconds (None: until set)."""
        if self._flag:
            return True
        if timeout is None or timeout > 0:
            # A byte written before or during the select() makes it return at once; the pipe is
            # only drained by clear(), so every thread waiting here wakes.
            select.select([self._read_fd], [], [], timeout)
        return self._flag
