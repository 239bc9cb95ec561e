"""Fall alerts to the people who care: one Apprise URL per carer (`collector.carers`: e-mail,
chat, a webhook), each alert to each carer once.

The stored alert is the intent: what has been sent is recorded per (alert, carer) in the
`notifications` table, and whatever stored alert has no record for a carer is still to send. So
an alert stored just before the collector stopped is sent after it starts again, a carer whose
server is down is tried again (backing off to RETRY_MAX_S), and a delivered one is never sent
twice. Alerts older than `collector.notify_within_h` are not sent (stale news, e.g. for a carer
added today).

Apprise (PyPI, BSD-2) speaks some hundred services from one URL each; writing SMTP, webhooks and
chat APIs here would be a worse copy of it.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import datetime

log = logging.getLogger("collector")

RETRY_FIRST_S = 5.0
RETRY_MAX_S = 300.0
KIND_TEXT = {"fall": ("넘어짐", "a fall"), "lying": ("오래 누워 있음", "lying on the floor")}


def carer_key(url: str) -> str:
    """How a carer is recorded: a hash of the URL, which may hold a password."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def message(alert: dict, site: str, device: str) -> tuple[str, str]:
    """(title, body) of the notification, Korean first, then English."""
    ko, en = KIND_TEXT.get(alert.get("kind", ""), (alert.get("kind", ""), alert.get("kind", "")))
    who = alert.get("participant") or "guest"
    when = datetime.fromtimestamp(alert.get("unix", 0)).strftime("%Y-%m-%d %H:%M")
    title = f"[silvergym] {who}: {ko} 알림 / alert: {en}"
    body = (f"{when}에 {site}/{device}에서 {who}님의 {ko}을(를) 감지했습니다. 바로 연락해서 괜찮으신지 확인해 주세요.\n"
            f"At {when}, {site}/{device} detected {en} for {who}. Please call or go and check on them now.\n"
            f"(alert {alert.get('alert_id', '')})")
    return title, body


class Notifier:
    def __init__(self, store, carers: list[str], within_h: float = 24.0, send=None, on_sent=None):
        self.store, self.carers, self.within_s = store, list(carers), within_h * 3600.0
        self.send = send or self._apprise
        self.on_sent = on_sent  # on_sent(site, device, msg_id): a carer was told (the device hears it)
        self.sent = self.failed = 0
        self.wake = threading.Event()
        self._retry: dict[tuple, tuple[float, float]] = {}  # (alert, carer) -> (next try, wait)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @staticmethod
    def _apprise(url: str, title: str, body: str) -> bool:
        import apprise

        target = apprise.Apprise()
        if not target.add(url):
            raise ValueError("Apprise does not understand this URL")
        return bool(target.notify(title=title, body=body))

    def start(self) -> None:
        if not self.carers:
            log.warning("no carers configured (collector.carers): fall alerts are stored but nobody is notified")
            return
        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            soonest = self.send_due(time.time())
            self.wake.wait(timeout=max(0.2, min(soonest - time.time(), 30.0)))
            self.wake.clear()

    def send_due(self, now: float) -> float:
        """Send every notification due now; returns when the next retry is due."""
        soonest = now + 30.0
        keys = {carer_key(url): url for url in self.carers}
        for site, device, msg_id, carer, alert in self.store.unsent_alerts(list(keys), now - self.within_s):
            key = (site, device, msg_id, carer)
            next_try, wait = self._retry.get(key, (0.0, RETRY_FIRST_S))
            if next_try > now:
                soonest = min(soonest, next_try)
                continue
            title, body = message(alert, site, device)
            try:
                ok = self.send(keys[carer], title, body)
                problem = "" if ok else "the service did not accept it"
            except Exception as exc:  # noqa: BLE001 - a carer's server is never a reason to stop
                ok, problem = False, f"{type(exc).__name__}: {exc}"
            if ok:
                self.store.mark_notified(site, device, msg_id, carer, time.time())
                self._retry.pop(key, None)
                self.sent += 1
                log.info("alert %s sent to carer %s", alert.get("alert_id", msg_id), carer)
                if self.on_sent is not None:
                    self.on_sent(site, device, msg_id)
                continue
            self.failed += 1
            self._retry[key] = (now + wait, min(wait * 2, RETRY_MAX_S))
            soonest = min(soonest, now + wait)
            log.warning("could not send alert %s to carer %s (%s); trying again in %.0f s: check that carer's "
                        "address in collector.carers", alert.get("alert_id", msg_id), carer, problem, wait)
        return soonest
