"""What the collector does with a payload before anything is stored: limits per topic that cost
nothing (checked on the MQTT network thread before a byte is parsed), then bounds and the JSON
Schema (common/central/schemas, documented in docs/mqtt.md).

No message can stop collection: every payload is bounded before it reaches the schema or the
database (size, nesting, integer range, finite numbers, text without control characters), and
anything that still fails is named in one short line (Invalid).
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources

import jsonschema

from common.central.store import printable

KINDS = ("session", "alert", "health", "status")
ACK = "ack"  # silvergym/v1/<site>/<device>/ack: what the collector says back about a session or alert
ACKED_KINDS = ("session", "alert")

# Bounds every payload meets before the schema sees it; they are the storage's own limits too
# (PostgreSQL INTEGER, no NUL in TEXT) and keep a log line short.
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_DEPTH = 12
MAX_TEXT = 2000
MAX_ITEMS = 20000
INT_RANGE = (-(2**31), 2**31 - 1)
FLOAT_LIMIT = 1e12
# What one device may add to the central tables, in payload bytes: a burst, then so much an hour (a
# session is 1-30 kB and a box makes a few a day; a week's backlog after an outage fits in the
# burst). Past it a record is neither stored nor acknowledged: the device keeps it and sends it
# again later, so a device that floods fills its own spool, not the central disk (one device
# added 67 MB in 39 s before).
DEVICE_BYTES_BURST = 20_000_000
DEVICE_BYTES_PER_HOUR = 20_000_000


@lru_cache(maxsize=None)
def validator(kind: str) -> jsonschema.Draft202012Validator:
    text = resources.files("common.central").joinpath("schemas").joinpath(f"{kind}.schema.json").read_text(encoding="utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


class Invalid(ValueError):
    pass



def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def check_bounds(value, where: str = "", depth: int = 0) -> None:
    """Raise Invalid naming the first value outside what storage and logs can take."""
    if depth > MAX_DEPTH:
        raise Invalid(f"{where or '(top)'}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise Invalid(f"{where}: integer out of range")
    elif isinstance(value, float):
        if not math.isfinite(value) or abs(value) > FLOAT_LIMIT:
            raise Invalid(f"{where}: number out of range")
    elif isinstance(value, str):
        if len(value) > MAX_TEXT or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise Invalid(f"{where}: text too long or with control characters")
    elif isinstance(value, list):
        if len(value) > MAX_ITEMS:
            raise Invalid(f"{where}: more than {MAX_ITEMS} items")
        for i, item in enumerate(value):
            check_bounds(item, f"{where}/{i}", depth + 1)
    elif isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            raise Invalid(f"{where}: more than {MAX_ITEMS} keys")
        for key, item in value.items():
            check_bounds(key, f"{where}/(key)", depth + 1)
            check_bounds(item, f"{where}/{printable(key, 40)}", depth + 1)



def claimed_id(payload: bytes) -> str | None:
    """The msg_id a rejected payload claims, when one can be read safely (to tell its device to
    stop resending it); None otherwise."""
    try:
        data = _load_json("", payload)
    except Invalid:
        return None
    msg_id = data.get("msg_id") if isinstance(data, dict) else None
    if isinstance(msg_id, str) and 8 <= len(msg_id) <= 200 and msg_id.isprintable():
        return msg_id
    return None


def _load_json(topic: str, payload: bytes):
    """The payload's JSON, or Invalid: over the size bound, not UTF-8, not JSON (NaN and
    Infinity included), or nested too deeply for the parser."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Invalid(f"{topic}: payload of {len(payload)} bytes is over {MAX_PAYLOAD_BYTES}")
    try:
        return json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Invalid(f"{topic}: not UTF-8 JSON ({printable(exc, 120)})") from None
    except RecursionError:
        raise Invalid(f"{topic}: nested deeper than {MAX_DEPTH} levels") from None


def parse(topic: str, payload: bytes) -> tuple[str, str, str, dict]:
    """(site, device, kind, data) or Invalid saying what is wrong."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[:2] != ["silvergym", "v1"] or parts[4] not in KINDS:
        raise Invalid(f"unexpected topic {printable(topic, 120)!r}")
    data = _load_json(topic, payload)
    check_bounds(data)
    errors = sorted(validator(parts[4]).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].path) or "(top)"
        raise Invalid(f"{topic}: {printable(where, 80)}: {printable(errors[0].message, 160)}")
    return parts[2], parts[3], parts[4], data


# Limits per topic (one device's one kind), met before a byte is parsed, on the MQTT network thread:
# (messages per second, burst of messages, bytes per second, burst of bytes). A box sends a few
# sessions a day, an alert now and then, health every few seconds; a week's backlog after an outage
# arrives at the uplink's pace (20 in flight) and fits in the burst. Past a limit a record is
# neither parsed nor acknowledged: its device keeps it and sends it again later. One device's
# flood then costs the collector a dictionary look-up per message, and other devices' falls wait
# for nothing (a flood of 600 sessions of 120 kB delayed another site's fall by 74.6 s before).
TOPIC_LIMITS = {
    "session": (20.0, 200.0, 2_000_000.0, 8_000_000.0),
    "alert": (5.0, 50.0, 100_000.0, 500_000.0),
    "health": (2.0, 20.0, 64_000.0, 256_000.0),
    "status": (2.0, 20.0, 64_000.0, 256_000.0),
}
TRACKED_TOPICS_MAX = 100_000  # buckets kept; past it, full (idle) ones are forgotten


class TopicLimits:
    """Token buckets per topic (messages and bytes per second) and per device (DEVICE_BYTES_* of
    records an hour), checked before parsing. Called from both network threads: one lock, held
    for a few dictionary operations."""

    def __init__(self):
        import threading

        self._buckets: dict[str, list[float]] = {}  # topic -> [messages left, bytes left, when]
        self._allowance: dict[tuple[str, str], tuple[float, float]] = {}  # (site, device) -> (bytes left, when)
        self._lock = threading.Lock()

    def admit(self, topic: str, size: int, now: float) -> str:
        """"" when a message of `size` bytes on `topic` may be handled now, else why not (a topic
        of no kind we take, over the topic's rate, over its device's hourly bytes)."""
        parts = topic.split("/")
        if len(parts) != 5 or parts[:2] != ["silvergym", "v1"] or parts[4] not in TOPIC_LIMITS:
            return "topic"
        rate, burst, byte_rate, byte_burst = TOPIC_LIMITS[parts[4]]
        with self._lock:
            if len(self._buckets) > TRACKED_TOPICS_MAX:
                self._forget_idle(now)
            left, bytes_left, since = self._buckets.get(topic, (burst, byte_burst, now))
            left = min(burst, left + (now - since) * rate)
            bytes_left = min(byte_burst, bytes_left + (now - since) * byte_rate)
            if left < 1.0 or bytes_left < size:
                self._buckets[topic] = [left, bytes_left, now]
                return "rate"
            if parts[4] == "session" and not self._device_allows(parts[2], parts[3], size, now):
                self._buckets[topic] = [left, bytes_left, now]
                return "device"
            self._buckets[topic] = [left - 1.0, bytes_left - size, now]
            return ""

    def _device_allows(self, site: str, device: str, size: int, now: float) -> bool:
        left, since = self._allowance.get((site, device), (float(DEVICE_BYTES_BURST), now))
        left = min(float(DEVICE_BYTES_BURST), left + (now - since) * DEVICE_BYTES_PER_HOUR / 3600.0)
        if left < size:
            self._allowance[(site, device)] = (left, now)
            return False
        self._allowance[(site, device)] = (left - size, now)
        return True

    def _forget_idle(self, now: float) -> None:
        for topic, (left, bytes_left, since) in list(self._buckets.items()):
            rate, burst, byte_rate, byte_burst = TOPIC_LIMITS[topic.rsplit("/", 1)[1]]
            if left + (now - since) * rate >= burst and bytes_left + (now - since) * byte_rate >= byte_burst:
                del self._buckets[topic]
        if len(self._allowance) > TRACKED_TOPICS_MAX:
            self._allowance = {k: v for k, v in self._allowance.items()
                               if v[0] + (now - v[1]) * DEVICE_BYTES_PER_HOUR / 3600.0 < DEVICE_BYTES_BURST}
