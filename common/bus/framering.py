"""Camera frames in shared memory: the pixels stay put, the bus carries where they are.

A 640x480 frame is 900 kB. Sent through ZeroMQ it was copied into the message, then by the
kernel once toward each subscriber and once out of it, by I/O threads in three processes, 30
times a second: ~0.9 ms of CPU per frame (bench, `silvergym bench`) on a budget of 2. Now the
camera writes each frame into the next slot of a ring in shared memory (/dev/shm, RAM; the
file is the service user's only) and publishes a small Frame naming the ring and the slot.
Readers map the ring once and read the pixels in place. The same idea as openpilot's VisionIPC
and Frigate's frame manager.

Layout: a header (magic, ring id, slots, width, height, slot stride), then SLOTS slots, each a
64-byte head (the frame's seq + 1 while the slot holds it, 0 while it is being written) and the
pixels. The ring id changes whenever the ring is made again (the camera restarted, or the
picture's size changed), so a reader never takes a new ring's slot for an old message's.

Only the service user's: the ring lives in a folder of its own (/dev/shm/silvergym-<uid>, mode
0700, checked as ours, never a link), is made under a random name with O_EXCL|O_NOFOLLOW and its
space reserved before use (a full /dev/shm is an error, not a SIGBUS), and a reader opens it
without following links and takes only a file of its own user, private, whose size is exactly
what its bounded header says. Anything else is a RingError: frames then travel in the messages.

A slot is written again SLOTS frames later (~0.5 s at 30 fps). A reader that holds pixels longer
(the model on a slow box) asks `holds()` after using them and drops a frame that was overwritten
meanwhile, counted like any frame it skipped.
"""
from __future__ import annotations

import hashlib
import logging
import mmap
import os
import secrets
import stat
import struct
import tempfile
import time
from pathlib import Path

import numpy as np

from common.bus.runtime import folder_problem

_log = logging.getLogger(__name__)

SLOTS = 16
MAGIC = b"SGFRAME1"
_HEADER = struct.Struct("<8sQIIIIQ")  # magic, ring id, slots, width, height, channels, slot stride
HEADER_BYTES = 64
SLOT_HEAD_BYTES = 64
_SEQ = struct.Struct("<Q")
SHM_FOLDER = "/dev/shm"
MAX_SLOTS = 64
MAX_SIDE = 8192  # pixels; what no camera here delivers


class RingError(OSError):
    """The ring cannot be made or read (no /dev/shm, full, not ours)."""


def ring_path(endpoint: str, folder: str = SHM_FOLDER) -> str:
    """The ring that belongs to the camera publishing on `endpoint`: every reader of that
    endpoint finds it without being told, and two installations on one machine never share one.
    It sits in this user's own folder under `folder`, where no other user can put anything."""
    digest = hashlib.sha256(endpoint.encode()).hexdigest()[:16]
    return os.path.join(folder, f"silvergym-{os.geteuid()}", f"frames-{digest}")


def _private_folder(folder: str, create: bool) -> None:
    """`folder` is this user's own, a real folder, and nobody else may write in it (else
    RingError saying what to remove). Made with mode 0700 when `create` and missing."""
    if create:
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise RingError(f"cannot make the frame ring's folder {folder}: {exc.strerror}") from None
    problem, info = folder_problem(Path(folder))
    if problem == "missing":
        raise RingError(f"the frame ring's folder {folder} is not there")
    if problem or info.st_mode & 0o022:
        raise RingError(f"{folder} is not this user's own private folder (a link, a file, another user's, or "
                        f"writable by others): remove it (sudo rm -rf {folder}) and restart silvergym")


def ring_pointer(endpoint: str) -> str | None:
    """Where the camera notes the folder it made in place of a planted one: beside its ipc://
    socket, in the bus's own checked 0700 folder (None over tcp://, where no ring is used)."""
    if not endpoint.startswith("ipc://"):
        return None
    digest = hashlib.sha256(endpoint.encode()).hexdigest()[:16]
    return os.path.join(os.path.dirname(endpoint[len("ipc://"):]), f"frames-{digest}.folder")


def _read_pointer(pointer: str | None, default_path: str) -> str:
    """The ring's path: in the folder the pointer names when the camera left one (it must be ours,
    a fresh `silvergym-<uid>-*` folder under the default's parent), else `default_path`."""
    if not pointer:
        return default_path
    try:
        fd = os.open(pointer, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return default_path
    try:
        info = os.fstat(fd)
        text = os.read(fd, 4096).decode("utf-8", "replace").strip()
    finally:
        os.close(fd)
    shm = os.path.dirname(os.path.dirname(default_path))
    if (info.st_uid != os.geteuid() or info.st_mode & 0o022 or os.path.dirname(text) != shm
            or not os.path.basename(text).startswith(f"silvergym-{os.geteuid()}-")):
        raise RingError(f"{pointer} does not name a frame ring folder of this user's: remove it and restart silvergym")
    return os.path.join(text, os.path.basename(default_path))


def _stride(width: int, height: int, channels: int) -> int:
    return -(-(SLOT_HEAD_BYTES + width * height * channels) // 4096) * 4096  # page-aligned slots


def _slot_views(mapping: mmap.mmap, slots: int, stride: int, shape: tuple[int, int, int]) -> list[np.ndarray]:
    """Each slot's pixels as an array over the mapping."""
    size = shape[0] * shape[1] * shape[2]
    buf = np.frombuffer(mapping, np.uint8)
    first = HEADER_BYTES + SLOT_HEAD_BYTES
    return [buf[first + k * stride: first + k * stride + size].reshape(shape) for k in range(slots)]


def _release(mapping: mmap.mmap | None) -> None:
    if mapping is not None:
        try:
            mapping.close()
        except BufferError:  # a frame's pixels still in use: the mapping goes with them
            pass


class FrameRingWriter:
    """The camera's side: `slot_view()` to decode straight into, `commit()` to publish it."""

    def __init__(self, path: str, slots: int = SLOTS, pointer: str | None = None):
        """`pointer` (ring_pointer): when given, a folder another user planted at the ring's place
        is left alone and the ring made in a fresh private folder, named in the pointer for the
        readers; without it such a folder is a RingError (frames then go in the messages)."""
        self.path, self.slots = path, slots
        self.default_path, self.pointer = path, pointer
        self.ring_id = 0
        self.shape: tuple[int, int, int] | None = None
        self._map: mmap.mmap | None = None
        self._views: list[np.ndarray] = []
        self._next = 0

    def _make(self, shape: tuple[int, int, int]) -> None:
        self.close()
        height, width, channels = shape
        stride = _stride(width, height, channels)
        size = HEADER_BYTES + self.slots * stride
        self._choose_folder()
        # A name nobody can guess, made new (never an existing file or a link someone planted).
        tmp = f"{self.path}.{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                # Reserve the pages now: on a full /dev/shm this fails here, where ftruncate alone
                # let the first write into a missing page kill the camera with SIGBUS.
                os.posix_fallocate(fd, 0, size)
                self._map = mmap.mmap(fd, size)
            finally:
                os.close(fd)
            # A fresh id from the clock: a reader of the old ring sees it change.
            self.ring_id = time.time_ns() & (2**62 - 1)
            self._map[:HEADER_BYTES] = _HEADER.pack(MAGIC, self.ring_id, self.slots, width, height, channels,
                                                    stride).ljust(HEADER_BYTES, b"\0")
            os.replace(tmp, self.path)  # readers see a whole ring or the old one, never half a header
        except (OSError, ValueError) as exc:
            self.close()
            try:
                os.unlink(tmp)  # not left behind when the space or the rename was refused
            except OSError:
                pass
            raise RingError(f"cannot make the frame ring {self.path}: {exc}") from None
        self._views = _slot_views(self._map, self.slots, stride, shape)
        self._stride = stride
        self.shape = shape

    def _choose_folder(self) -> None:
        """The default folder when it is ours; else (with a pointer) a fresh 0700 one of our own."""
        try:
            _private_folder(os.path.dirname(self.default_path), create=True)
        except RingError:
            if not self.pointer:
                raise
        else:
            self.path = self.default_path
            try:
                os.unlink(self.pointer) if self.pointer else None
            except FileNotFoundError:
                pass
            return
        try:  # the one we made before (a restarted camera), if it is still ours and private
            self.path = _read_pointer(self.pointer, self.default_path)
            if self.path != self.default_path:
                _private_folder(os.path.dirname(self.path), create=False)
                return
        except RingError:
            pass
        shm = os.path.dirname(os.path.dirname(self.default_path))
        try:
            folder = tempfile.mkdtemp(prefix=f"silvergym-{os.geteuid()}-", dir=shm)  # 0700, made new (O_EXCL)
            _private_folder(folder, create=False)
            tmp = f"{self.pointer}.{secrets.token_hex(8)}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, folder.encode())
            finally:
                os.close(fd)
            os.replace(tmp, self.pointer)
        except OSError as exc:
            raise RingError(f"cannot make a private frame ring folder in {shm}: {exc}") from None
        self.path = os.path.join(folder, os.path.basename(self.default_path))
        if not FrameRingWriter._said_planted:
            FrameRingWriter._said_planted = True
            _log.warning("%s is not this user's own private folder (someone else made it): the frame ring is in %s "
                         "instead; remove it (sudo rm -rf %s)", os.path.dirname(self.default_path), folder,
                         os.path.dirname(self.default_path))

    _said_planted = False

    def slot_view(self) -> np.ndarray | None:
        """The next slot's pixels to write a frame of the last size into; None before the first."""
        if self._map is None:
            return None
        self._set_seq(self._next, None)  # being written: a reader of its last frame now drops it
        return self._views[self._next]

    def commit(self, pixels: np.ndarray, seq: int) -> int:
        """Put frame `seq` (height x width x 3) in the next slot (no copy when `pixels` is that
        slot's view); returns the slot's index."""
        if pixels.shape != self.shape:
            self._make(pixels.shape)
        slot = self._next
        view = self._views[slot]
        if pixels.ctypes.data != view.ctypes.data:
            self._set_seq(slot, None)
            np.copyto(view, pixels)
        self._set_seq(slot, seq)
        self._next = (slot + 1) % self.slots
        return slot

    def _set_seq(self, slot: int, seq: int | None) -> None:
        _SEQ.pack_into(self._map, HEADER_BYTES + slot * self._stride, 0 if seq is None else seq + 1)

    def close(self, unlink: bool = False) -> None:
        self._views = []
        _release(self._map)
        self._map = None
        if unlink:
            try:
                os.unlink(self.path)
            except OSError:
                pass


class FrameRingReader:
    """A subscriber's side: the pixels of a Frame that names its slot, read in place."""

    def __init__(self, path: str, pointer: str | None = None):
        self.path = path
        self.default_path, self.pointer = path, pointer
        self.ring_id = 0
        self._map: mmap.mmap | None = None
        self._views: list[np.ndarray] = []
        self._stride = 0

    def _open(self) -> None:
        self.close()
        self.path = _read_pointer(self.pointer, self.default_path)
        _private_folder(os.path.dirname(self.path), create=False)
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise RingError(f"cannot read the camera's frame ring {self.path}: {exc.strerror}") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
                raise RingError(f"{self.path} is not a private file of this user: not read; remove it and "
                                "restart the camera service")
            header = os.pread(fd, HEADER_BYTES, 0)
            if len(header) < _HEADER.size:
                raise RingError(f"the frame ring {self.path} is truncated")
            magic, ring_id, slots, width, height, channels, stride = _HEADER.unpack_from(header)
            if (magic != MAGIC or not 1 <= slots <= MAX_SLOTS or channels != 3 or not 1 <= width <= MAX_SIDE
                    or not 1 <= height <= MAX_SIDE or stride != _stride(width, height, channels)
                    or info.st_size != HEADER_BYTES + slots * stride):
                raise RingError(f"{self.path} is not a silvergym frame ring of this version")
            self._map = mmap.mmap(fd, info.st_size, prot=mmap.PROT_READ)
        except RingError:
            raise
        except (OSError, ValueError) as exc:
            raise RingError(f"cannot read the camera's frame ring {self.path}: {exc}") from None
        finally:
            os.close(fd)
        self._views = _slot_views(self._map, slots, stride, (height, width, channels))
        self.ring_id, self._stride = ring_id, stride

    def pixels(self, ring_id: int, slot: int, seq: int) -> np.ndarray | None:
        """The pixels of frame `seq` in `slot` of ring `ring_id`, read in place (read-only);
        None when that frame is no longer there (overwritten, or the ring made again)."""
        if ring_id != self.ring_id:
            self._open()  # the camera (re)made its ring since: raises RingError if unreadable
            if ring_id != self.ring_id:
                return None  # an older ring's frame: gone
        if not 0 <= slot < len(self._views):
            return None
        if not self.holds(slot, seq):
            return None
        # A new array object per frame over the slot's memory: a reader that knows a picture by
        # its identity (the TV's scaled-picture cache) never takes frame n + SLOTS for frame n.
        return self._views[slot].view()

    def holds(self, slot: int, seq: int) -> bool:
        """Whether `slot` still holds frame `seq` (ask after using its pixels)."""
        return self._map is not None and _SEQ.unpack_from(self._map, HEADER_BYTES + slot * self._stride)[0] == seq + 1

    def close(self) -> None:
        self._views = []
        _release(self._map)
        self._map = None
        self.ring_id = 0
