"""The collector's acknowledgements, signed so that only the central side can delete a device's
records.

An acknowledgement makes a device delete a session or alert from its spool. Without a broker ACL
any client can publish on a device's `ack` topic, and it can read the msg_ids it would need from
the device's own topics (measured: forged acks deleted 30 of 30 spooled records). With
`collector.ack_secret` set, each ack carries `sig` = HMAC-SHA256 over "<msg_id>/<result>" under
the device's own key, HMAC-SHA256(ack_secret, "silvergym-ack/v1/<site>/<device>"); a device given
that key (`uplink.ack_key`, from `silvergym ack-key`) ignores any ack without it. One device's key
signs nothing for another. On by default: with no ack_secret the collector makes one beside its
SQLite store (central_secret), and `install.sh --bridge HOST:PORT --ack-key KEY` gives the device
its key.

A deleting acknowledgement also names the SHA-256 of the payload it answers (`sha256`, inside the
signature), and the device deletes only when that is what it sent: junk someone else publishes
under a device's ids earns a "rejected" for the junk, never for the device's record.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

# What an acknowledgement may say; only the first three let a record leave the spool.
DELETING_RESULTS = ("stored", "duplicate", "rejected")
RESULTS = (*DELETING_RESULTS, "notified")


def central_secret(configured: str, db: str) -> str:
    """The collector's signing secret: collector.ack_secret ($SILVERGYM_ACK_SECRET) when set; else,
    beside an SQLite store, a random one made once and kept there (mode 0600), so acknowledgements
    are signed by default and `silvergym ack-key` on the same server prints the keys that match.
    "" for PostgreSQL without one: several collectors must share a secret, which only the
    configuration can give them."""
    if configured:
        return configured
    if db.startswith(("postgresql://", "postgres://")):
        return ""
    path = Path(db.removeprefix("sqlite:///") + ".ack-secret")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip()


def device_key(secret: str, site: str, device: str) -> str:
    return hmac.new(secret.encode(), f"silvergym-ack/v1/{site}/{device}".encode(), hashlib.sha256).hexdigest()


def signature(key: str, msg_id: str, result: str, digest: str = "") -> str:
    """HMAC over "<msg_id>/<result>", and "/<digest>" when the ack names the payload it answers."""
    text = f"{msg_id}/{result}" + (f"/{digest}" if digest else "")
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def genuine(key: str, msg_id: str, result: str, sig, digest: str = "") -> bool:
    return isinstance(sig, str) and hmac.compare_digest(signature(key, msg_id, result, digest), sig)


def body(msg_id: str, result: str, key: str = "", digest: str = "") -> dict:
    """The acknowledgement a device waits for before it deletes a record: result is "stored",
    "duplicate" (stored before) or "rejected" (will never be stored; do not send it again); for
    an alert, later "notified" once a carer was told (once per carer). Signed with the device's
    key when the collector has an ack_secret."""
    out = {"msg_id": msg_id, "result": result}
    if digest:
        out["sha256"] = digest
    if key:
        out["sig"] = signature(key, msg_id, result, digest)
    return out
