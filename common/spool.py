"""Durable outbox for what must reach the central server: session summaries and alerts.

SQLite in WAL mode. The scoring service puts a record in before it announces it on the bus;
the uplink sends records in priority order (alerts first) and deletes one only after the
broker's PUBACK. Records are keyed by their message id, so putting one twice stores it once.

Bound: at most `max_rows` records. When full, alerts older than a week are dropped first (and
logged); session summaries are never dropped: `put` raises SpoolFull instead, which the caller
logs as an error the installer can act on (free disk, fix the uplink).

Damage: a spool that SQLite reports as corrupt (at open, or later) is moved aside as
`<name>.corrupt-<unix time>` after every record that can still be read has been copied into a
fresh spool, with one log line saying so; the services go on instead of crash-looping. A process
whose spool was replaced under it by another (scoring and uplink share the file) notices the new
file and reopens it.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from common.bus.runtime import folder_problem

log = logging.getLogger(__name__)

PRIORITY = {"alert": 10, "session": 0}
RESERVE_BYTES = 1 << 20  # set aside beside the spool, given back when the disk fills up
# A service that cannot open its spool exits with this: not 2 (a configuration error, which stops
# the whole run) but a failure the supervisor and systemd restart until the disk has room again.
EXIT_SPOOL_UNAVAILABLE = 1


class SpoolFull(RuntimeError):
    pass


class SpoolError(RuntimeError):
    """The spool file cannot be written (disk full, read-only, corrupt); str() says which."""


class SpoolFolderRefused(SpoolError):
    """The spool's folder is another user's, open to others, or a link: a restart cannot fix that,
    so the services run without the spool (open_spool) instead of restarting every few seconds."""


@dataclass(frozen=True)
class Record:
    msg_id: str
    kind: str  # "session" | "alert"
    payload: dict
    created: float


def _salvage(path: Path) -> list[tuple]:
    """Every outbox row of a damaged spool that SQLite can still read, row by row."""
    rows: list[tuple] = []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return rows
    try:
        try:
            last = db.execute("SELECT max(rowid) FROM outbox").fetchone()[0] or 0
        except sqlite3.Error:
            last = 100_000  # the index is unreadable: try the rowids one by one
        for rowid in range(1, min(last, 1_000_000) + 1):
            try:
                row = db.execute("SELECT msg_id, kind, priority, payload, created FROM outbox WHERE rowid = ?",
                                 (rowid,)).fetchone()
            except sqlite3.Error:
                continue
            if row and isinstance(row[0], str) and isinstance(row[3], str):
                try:
                    json.loads(row[3])
                except ValueError:
                    continue
                rows.append(row)
    finally:
        db.close()
    return rows


def default_path() -> Path:
    return Path.home() / ".local/state/silvergym/spool.db"


def _check_spool_folder(folder: Path) -> None:
    """The spool's folder is this user's own and nobody else may write in it: whoever can could
    swap the spool for a link, or read and delete the sessions waiting to be sent."""
    problem, info = folder_problem(folder)
    if problem in ("link", "file", "missing"):
        raise SpoolFolderRefused(f"the spool's folder {folder} is a link or a file, not a folder: remove it and start again")
    if problem == "owner":
        raise SpoolFolderRefused(f"the spool's folder {folder} belongs to user id {info.st_uid}, not this service's user "
                         f"({os.geteuid()}): give uplink.spool_path a folder of this user's (or chown it)")
    if info.st_mode & 0o022:
        raise SpoolFolderRefused(f"the spool's folder {folder} is writable by other users (mode {info.st_mode & 0o777:o}): "
                         f"chmod go-w {folder}")


class Spool:
    durable = True  # False for MemorySpool

    def __init__(self, path: str | Path = "", max_rows: int = 100_000):
        self.path = Path(path) if path else default_path()
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise SpoolError(f"cannot make the spool's folder {self.path.parent}: {exc.strerror}") from None
        _check_spool_folder(self.path.parent)
        self.max_rows = max_rows
        self.recovered = 0  # times a damaged spool was moved aside by this process
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise SpoolError(f"spool {self.path}: {exc}") from None
            self._recover(exc)
        self._keep_reserve()

    def _open(self) -> None:
        # timeout: scoring and uplink write the same file; wait for the other's lock, don't fail.
        self.db = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS outbox (msg_id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
                "priority INTEGER NOT NULL, payload TEXT NOT NULL, created REAL NOT NULL)")
            check = self.db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {check}")
            self._inode = os.stat(self.path).st_ino
        except sqlite3.DatabaseError:
            self.db.close()
            raise

    def _recover(self, why: Exception) -> None:
        """Copy what can be read out of the damaged file, move it aside, start a fresh spool."""
        rows = _salvage(self.path)
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        os.replace(self.path, aside)
        for suffix in ("-wal", "-shm"):
            side = Path(str(self.path) + suffix)
            if side.exists():
                os.replace(side, Path(str(aside) + suffix))
        self._open()
        self.db.executemany("INSERT OR IGNORE INTO outbox VALUES (?, ?, ?, ?, ?)", rows)
        self.recovered += 1
        log.error("the spool %s was damaged (%s): moved it aside to %s, kept the %d records still readable in a "
                  "fresh spool; if this repeats, check the storage card", self.path, why, aside.name, len(rows))

    def _checked(self, fn):
        """Run fn() on the database; reopen a spool another process replaced, recover a damaged one."""
        if self._replaced():
            self.db.close()
            self._open()
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            raise SpoolError(f"the spool {self.path} cannot be used: {exc}") from None
        except sqlite3.DatabaseError as exc:
            self.db.close()
            self._recover(exc)
            return fn()

    def _replaced(self) -> bool:
        try:
            return os.stat(self.path).st_ino != self._inode
        except FileNotFoundError:
            return True

    def put(self, msg_id: str, kind: str, payload: dict) -> None:
        def insert():
            if self.depth() >= self.max_rows:
                self._make_room()
            self.db.execute("INSERT OR IGNORE INTO outbox VALUES (?, ?, ?, ?, ?)",
                            (msg_id, kind, PRIORITY.get(kind, 0), json.dumps(payload, ensure_ascii=False), time.time()))
            # Into the main file at once: records waiting in the WAL are what a damaged WAL loses
            # without a word (SQLite drops the frames after a bad checksum). Writes here are rare.
            try:
                self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.OperationalError:
                pass  # no room to copy it over yet: the record is committed in the WAL all the same
        def unwritten(exc: SpoolError) -> SpoolError:
            return SpoolError(f"could not write {kind} {msg_id}: {exc}; free disk space, the record is kept in "
                              "memory and retried")
        try:
            self._checked(insert)
        except SpoolError as exc:
            # A full disk: give back the space set aside for this moment, so the session that just
            # ended is on disk (and survives a restart) rather than only in memory.
            if not self._use_reserve():
                raise unwritten(exc) from None
            try:
                self._checked(insert)
            except SpoolError as again:
                raise unwritten(again) from None
            log.error("the disk is full: the spool used the %d KiB set aside for this and stored %s %s; free disk "
                      "space (the next records wait in memory until then)", RESERVE_BYTES // 1024, kind, msg_id)
            return
        self._keep_reserve()

    @property
    def reserve_path(self) -> Path:
        return Path(str(self.path) + ".reserve")

    def _keep_reserve(self) -> None:
        """Set RESERVE_BYTES aside next to the spool (again, once space has returned)."""
        if self.reserve_path.exists():
            return
        try:
            with open(self.reserve_path, "wb") as f:
                f.write(b"\0" * RESERVE_BYTES)
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            self.reserve_path.unlink(missing_ok=True)  # no room yet: try again after the next write

    def _use_reserve(self) -> bool:
        try:
            self.reserve_path.unlink()
            return True
        except FileNotFoundError:
            return False

    def _make_room(self) -> None:
        week_ago = time.time() - 7 * 86400
        cur = self.db.execute("DELETE FROM outbox WHERE msg_id IN (SELECT msg_id FROM outbox WHERE kind = 'alert' "
                              "AND created < ? ORDER BY created LIMIT 100)", (week_ago,))
        if cur.rowcount:
            log.warning("spool full (%d records): dropped the %d oldest alerts older than a week", self.max_rows, cur.rowcount)
        if self.depth() >= self.max_rows:
            raise SpoolFull(f"spool {self.path} holds {self.max_rows} unsent records; the broker has been unreachable "
                            "for a long time: check the network and the uplink settings")

    def peek(self, limit: int = 50) -> list[Record]:
        rows = self._checked(lambda: self.db.execute(
            "SELECT msg_id, kind, payload, created FROM outbox ORDER BY priority DESC, created LIMIT ?",
            (limit,)).fetchall())
        return [Record(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    def delete(self, msg_id: str) -> None:
        self._checked(lambda: self.db.execute("DELETE FROM outbox WHERE msg_id = ?", (msg_id,)))

    def depth(self) -> int:
        return self._checked(lambda: self.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        self.db.close()


class MemorySpool(Spool):
    """Stand-in for a spool whose folder was refused: the same outbox in this process's memory, so
    the service keeps coaching and sending health; nothing in it survives a restart and scoring's
    records do not reach the uplink (another process) until the folder is fixed."""

    durable = False

    def __init__(self, path: str | Path = "", max_rows: int = 100_000):
        self.path = Path(path) if path else default_path()
        self.max_rows = max_rows
        self.recovered = 0
        self.db = sqlite3.connect(":memory:", isolation_level=None)
        self.db.execute("CREATE TABLE outbox (msg_id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
                        "priority INTEGER NOT NULL, payload TEXT NOT NULL, created REAL NOT NULL)")

    def _replaced(self) -> bool:
        return False

    def _keep_reserve(self) -> None:
        pass

    def _use_reserve(self) -> bool:
        return False


STAND_IN_NAME = "spool-stand-in.db"


def open_spool(path: str | Path, max_rows: int, service: str, logger: logging.Logger,
               stand_in_folder: str | Path = "") -> Spool:
    """The spool. Its folder refused (another user's, open to others: a restart cannot fix that),
    a stand-in spool in `stand_in_folder` (the bus's own checked 0700 folder, which scoring and the
    uplink share, so records still go out; lost at a reboot), else a MemorySpool; one error line
    says what to do. Records left in a stand-in are taken into the real spool once it opens.
    Other SpoolErrors (disk full, read-only) propagate: a restart can fix those."""
    stand_in = Path(stand_in_folder) / STAND_IN_NAME if stand_in_folder else None
    try:
        spool = Spool(path, max_rows)
    except SpoolFolderRefused as exc:
        if stand_in is not None:
            try:
                spool = Spool(stand_in, max_rows)
            except SpoolError:
                pass
            else:
                logger.error("%s; until then %s keeps sessions and alerts in a stand-in spool %s (sent as usual, "
                             "but lost if the box restarts); restart silvergym after fixing", exc, service, stand_in)
                return spool
        logger.error("%s; %s runs WITHOUT its spool until then: sessions and alerts are kept in memory only, are "
                     "lost at a restart and do not reach the central server (restart the service after fixing)",
                     exc, service)
        return MemorySpool(path, max_rows)
    if stand_in is not None and stand_in.exists() and stand_in != spool.path:
        _take_in(spool, stand_in, logger)
    return spool


def _take_in(spool: Spool, stand_in: Path, logger: logging.Logger) -> None:
    """Move the records a stand-in spool holds into the real one (put twice is stored once)."""
    try:
        old = Spool(stand_in)
        try:
            rows = old.db.execute("SELECT msg_id, kind, priority, payload, created FROM outbox").fetchall()
        finally:
            old.close()
        spool._checked(lambda: spool.db.executemany("INSERT OR IGNORE INTO outbox VALUES (?, ?, ?, ?, ?)", rows))
    except (SpoolError, sqlite3.Error, OSError) as exc:
        logger.warning("could not take the records of the stand-in spool %s into %s (%s); they stay there",
                       stand_in, spool.path, exc)
        return
    for suffix in ("", "-wal", "-shm", ".reserve"):
        Path(str(stand_in) + suffix).unlink(missing_ok=True)
    logger.warning("took %d record(s) kept in the stand-in spool %s into %s", len(rows), stand_in, spool.path)
