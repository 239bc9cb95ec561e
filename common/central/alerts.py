"""The alert lane: how a fall crosses the central side, apart from everything else.

    device --alert--> broker --(the collector's own alert connection)--> limits per topic
      --> alert queue --> alert worker: validate, store, acknowledge --> notifier --> carer

Sessions, health and status come over another connection into another queue and worker
(common/central/collector.py). So a device that floods sessions fills the broker's queue for the
record connection and the record queue, never the alerts' (one device's 600 sessions of 120 kB
delayed another site's fall by 74.6 s when everything shared one thread and one queue; 3,000
small ones in a burst made the broker drop it).
"""
from __future__ import annotations

import logging
import queue
import threading

from common.central.store import printable

log = logging.getLogger("collector")

ALERT_KINDS = ("alert",)
RECORD_KINDS = ("session", "health", "status")
# Messages a lane holds between the network thread and its worker. Alerts are small and limited
# per topic (common/central/ingest.py): this many is a flood from thousands of devices at once.
# Records are up to 256 kB: a full record queue turns more away unacknowledged (their devices
# send them again), which bounds the collector's memory to about 128 MB.
ALERT_QUEUE_MAX = 100_000
RECORD_QUEUE_MAX = 500


def topics(cfg, kinds: tuple[str, ...]) -> list[str]:
    """What a lane's connection subscribes to: with MQTT 5 and a group, shared subscriptions that
    let several collectors split the devices' messages (each message goes to one of them)."""
    plain = [f"silvergym/v1/+/+/{kind}" for kind in kinds]
    if cfg.protocol == "5" and cfg.shared_group:
        return [f"$share/{cfg.shared_group}/{t}" for t in plain]
    return plain


class Lane:
    """One queue and one worker thread. The MQTT network thread only puts what passed the limits
    here (put never blocks); the worker validates, stores and acknowledges."""

    def __init__(self, name: str, work, maxsize: int):
        self.name, self.work = name, work
        self.queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self.turned_away = 0
        self.failed = 0
        self._thread: threading.Thread | None = None

    def put(self, item) -> bool:
        try:
            self.queue.put_nowait(item)
            return True
        except queue.Full:
            self.turned_away += 1
            return False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            # What waits is dropped, unacknowledged: its devices send it again to the next collector.
            while True:
                try:
                    self.queue.get_nowait()
                except queue.Empty:
                    break
            self.queue.put(None)
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            try:
                self.work(*item)
            except Exception as exc:  # noqa: BLE001 - logged and counted; the lane goes on
                self.failed += 1
                log.error("could not handle a message on %s: %s: %s (not acknowledged; failures so far: %d)",
                          printable(item[0], 120), type(exc).__name__, printable(exc), self.failed)
