"""Fall alerts to the people who care: one Apprise URL per carer (e-mail, chat, a webhook), each
alert to each carer once. `collector.carers` hear of every site's falls; `collector.site_carers`
only of their own site's (a family, a center's staff).

The stored alert is the intent: what has been sent is recorded per (alert, carer) in the
`notifications` table, and whatever stored alert has no record for a carer is still to send. So
an alert stored just before the collector stopped is sent after it starts again, a carer whose
server is down is tried again (backing off to RETRY_MAX_S), and a delivered one is never sent
twice. Alerts stored more than `collector.notify_within_h` ago are not sent (stale news, e.g. for
a carer added today); the collector's clock decides, as a device's may be hours off. Many alerts at once from one place reach a carer as few messages naming each
(GROUP_WINDOW_S), a fall from another place goes at once on its own, and nothing one
alert or one carer does (a date no clock could mean, a server that refuses) stops the others.

Apprise (PyPI, BSD-2) speaks some hundred services from one URL each; writing SMTP, webhooks and
chat APIs here would be a worse copy of it.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from common.central.sitetime import SiteZones, fell_unix
from common.central.store import printable

log = logging.getLogger("collector")

RETRY_FIRST_S = 5.0
RETRY_MAX_S = 300.0
# Each place (site/device) may cause a carer PLACE_BURST messages at once, one more every
# PLACE_REFILL_S: up to three falls in a class go out at once, each on its own; past that, what
# the place sends goes out together, each alert named (200 alerts in a second were 200 posts;
# grouping them across places buried a real fall in "41 more"). Other places are not slowed.
PLACE_BURST = 3
PLACE_REFILL_S = 10.0
GROUP_WINDOW_S = PLACE_REFILL_S  # the name tests and older notes use
GROUP_LIST_MAX = 30  # alerts named in one message (about 3,000 characters: chat services cut at 4,096)
KIND_TEXT = {"fall": ("넘어짐", "a fall"), "lying": ("오래 누워 있음", "lying on the floor")}
# Why the device called (the alert's `answer`, added): asked and nobody answered, or a hard fall.
ANSWER_TEXT = {"no_answer": ("넘어진 뒤 응답 없음", "no answer after the fall"),
               "hard_fall": ("심하게 넘어져 바로 알림", "a hard fall, called at once")}


def carer_key(url: str) -> str:
    """How a carer is recorded: a hash of the URL, which may hold a password."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def whenprintable(unix, site: str = "", locale: str = "ko", zones: SiteZones | None = None) -> str:
    """The alert's time as the carer reads it: on the site's clock with the zone named, as the web
    pages show it ("2026-12-06 14:07 한국 시간"), or "?" for a time no clock could have meant (a
    device's clock or a forged alert may say anything)."""
    return (zones or SiteZones()).when(unix, site, locale)


def who(alert: dict) -> str:
    """The name the device sent with the alert (participant_name, e.g. 이순자), as the pages show
    it; the participant's key when there is none (older devices, a config without names)."""
    name = alert.get("participant_name")
    if isinstance(name, str) and name.strip():
        return printable(name.strip(), 80)
    return printable(alert.get("participant") or "guest", 80)


def _parts(alert: dict, site: str, device: str, zones: SiteZones | None = None) -> dict:
    kind = printable(alert.get("kind", ""), 40)
    ko, en = KIND_TEXT.get(kind, (kind, kind))
    return {"ko": ko, "en": en, "who": who(alert), "when": whenprintable(fell_unix(alert), site, "ko", zones),
            "when_en": whenprintable(fell_unix(alert), site, "en", zones),
            "where": f"{printable(site, 64)}/{printable(device, 64)}", "id": printable(alert.get("alert_id", ""), 80),
            **_spot(alert.get("spot")), **_answer(alert.get("answer")), "test": alert.get("test") is True}


def _answer(answer) -> dict:
    """Which it was: asked with nobody answering, or a hard fall called at once ("" otherwise)."""
    ko, en = ANSWER_TEXT.get(answer, ("", "")) if isinstance(answer, str) else ("", "")
    return {"answer_ko": f" ({ko})" if ko else "", "answer_en": f" ({en})" if en else ""}


def _spot(spot) -> dict:
    """Where in a class the person stood (group mode), for the staff in the room."""
    if isinstance(spot, int) and not isinstance(spot, bool) and 1 <= spot <= 64:
        return {"spot_ko": f" {spot}번 자리", "spot_en": f" (spot {spot})"}
    return {"spot_ko": "", "spot_en": ""}


def message(alert: dict, site: str, device: str, zones: SiteZones | None = None) -> tuple[str, str]:
    """(title, body) of the notification, Korean first, then English. Every value a device sent
    is bounded here, where it is used: a bad one prints as "?" or is cut, never raises."""
    p = _parts(alert, site, device, zones)
    if p["test"]:  # silvergym send-test: says so first, and asks nobody to run to anyone
        title = f"[silvergym] 시험 알림 (실제 상황 아님) / TEST alert (not real): {p['where']}"
        body = (f"시험 알림입니다. 아무도 넘어지지 않았습니다: {p['where']}에서 {p['when']}에 보낸 시험입니다 "
                f"(참여자 {p['who']}).\n"
                f"This is a TEST: nobody fell. Sent from {p['where']} at {p['when_en']} (participant {p['who']}) "
                "to check that alerts reach you.\n"
                f"(alert {p['id']})")
        return title, body
    title = f"[silvergym] {p['who']}: {p['ko']}{p['answer_ko']} 알림 / alert: {p['en']}{p['answer_en']}"
    body = (f"{p['when']}에 {p['where']}{p['spot_ko']}에서 {p['who']}님의 {p['ko']}을(를) 감지했습니다{p['answer_ko']}. "
            "바로 연락해서 괜찮으신지 확인해 주세요.\n"
            f"At {p['when_en']}, {p['where']} detected {p['en']} for {p['who']}{p['spot_en']}{p['answer_en']}. "
            "Please call or go and check on them now.\n"
            f"(alert {p['id']})")
    return title, body


def group_message(alerts: list[tuple[str, str, dict]], zones: SiteZones | None = None) -> tuple[str, str]:
    """One message for several alerts from one place that came at once: each named on its own line
    (the caller sends at most GROUP_LIST_MAX to a message; none is ever left as a count)."""
    lines = []
    for site, device, alert in alerts:
        p = _parts(alert, site, device, zones)
        what = "시험 알림, 실제 상황 아님 / TEST, nobody fell" if p["test"] else f"{p['ko']} / {p['en']}"
        lines.append(f"- {p['when']} {p['where']}{p['spot_ko']} {p['who']}: {what} (alert {p['id']})")
    title = f"[silvergym] 알림 {len(alerts)}건 / {len(alerts)} alerts"
    body = ("여러 알림이 한꺼번에 왔습니다. 바로 연락해서 괜찮으신지 확인해 주세요.\n"
            "Several alerts came at once. Please call or go and check on them now.\n" + "\n".join(lines))
    return title, body


class Notifier:
    def __init__(self, store, carers: list[str], within_h: float = 24.0, send=None, on_sent=None,
                 zones: SiteZones | None = None, site_carers: dict[str, list[str]] | None = None):
        # carers: told of every site's falls; site_carers: site -> those told of that site's only.
        # A URL in both hears of every site.
        everywhere = list(dict.fromkeys(carers))
        sites_of: dict[str, set[str]] = {}
        for site, urls in (site_carers or {}).items():
            for url in urls:
                if url not in everywhere:
                    sites_of.setdefault(url, set()).add(site)
        self.store, self.carers, self.within_s = store, everywhere + list(sites_of), within_h * 3600.0
        self._sites_of = {carer_key(url): tuple(sorted(sites)) for url, sites in sites_of.items()}
        self.send = send or self._apprise
        self.zones = zones or SiteZones()  # web.time_zone / web.site_time_zones: a message's times as the pages show them
        self.on_sent = on_sent  # on_sent(site, device, msg_id): a carer was told (the device hears it)
        self.sent = self.failed = self.errors = 0
        self.wake = threading.Event()
        self._retry: dict[str, tuple[float, float]] = {}  # carer -> (next try, wait) after a refused send
        self._tokens: dict[tuple[str, str, str], tuple[float, float]] = {}  # (carer, site, device) -> (left, when)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @staticmethod
    def _apprise(url: str, title: str, body: str) -> bool:
        import apprise

        target = apprise.Apprise()
        if not target.add(url):
            raise ValueError("Apprise does not understand this URL")
        # Plain text: a participant's name that carries markup reaches an e-mail's HTML part
        # escaped, never as a live link or image.
        return bool(target.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT))

    def start(self) -> None:
        if not self.carers:
            log.warning("no carers configured (collector.carers or collector.site_carers): fall alerts are stored "
                        "but nobody is notified; add each carer's address to the config and restart the collector")
            return
        import apprise  # noqa: F401 - loaded now (about 2 s on a Pi-class CPU), not when the first fall waits for it

        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                soonest = self.send_due(time.time())
            except Exception as exc:  # noqa: BLE001 - the database, say: carers must still be told later
                self.errors += 1
                log.error("the notifier hit %s: %s; trying again in %.0f s (errors so far: %d)",
                          type(exc).__name__, printable(exc, 200), RETRY_FIRST_S, self.errors)
                soonest = time.time() + RETRY_FIRST_S
            self.wake.wait(timeout=max(0.2, min(soonest - time.time(), 30.0)))
            self.wake.clear()

    def send_due(self, now: float) -> float:
        """Send each carer what is due to them now; returns when something is next due.

        Alerts are grouped by where they came from (site, device): while a place has messages
        left (PLACE_BURST, refilled one per PLACE_REFILL_S) each of its alerts goes at once in a
        message of its own; past that, its alerts go out together, every one named on its own line
        (at most GROUP_LIST_MAX to a message, never "and N more"). So one device that floods
        (forged alerts, a broken detector) slows only its own alerts, a fall from anywhere else is
        sent at once, on its own, and the places with least owed are sent first."""
        soonest = now + 30.0
        keys = {carer_key(url): url for url in self.carers}
        owed: dict[tuple[str, str, str], list[tuple[str, str, str, dict]]] = {}
        for site, device, msg_id, carer, alert in self.store.unsent_alerts(list(keys), now - self.within_s, self._sites_of):
            owed.setdefault((carer, site, device), []).append((site, device, msg_id, alert))
        for place, alerts in sorted(owed.items(), key=lambda item: len(item[1])):
            carer = place[0]
            tokens = self._tokens_of(place, now)
            due = max(self._retry.get(carer, (0.0, 0.0))[0], now + (1.0 - tokens) * PLACE_REFILL_S)
            if due > now:
                soonest = min(soonest, due)
                continue
            try:
                # Each alone while the place has messages left; past them, named together.
                batches = ([[a] for a in alerts] if len(alerts) <= tokens else
                           [alerts[i:i + GROUP_LIST_MAX] for i in range(0, len(alerts), GROUP_LIST_MAX)])
                for batch in batches[:int(tokens)]:
                    if not self._send_to(carer, keys[carer], batch, now):
                        break
                    tokens -= 1.0
                    self._tokens[place] = (tokens, now)
            except Exception as exc:  # noqa: BLE001 - one carer's or one alert's trouble never stops the others
                self.errors += 1
                wait = self._back_off(carer, now)
                log.error("could not prepare alerts for carer %s (%s: %s); trying again in %.0f s (errors so far: %d)",
                          carer, type(exc).__name__, printable(exc, 200), wait, self.errors)
            soonest = min(soonest, max(self._retry.get(carer, (0.0, 0.0))[0], now + PLACE_REFILL_S))
        return soonest

    def _tokens_of(self, place: tuple[str, str, str], now: float) -> float:
        """Messages `place` (carer, site, device) may still cause now: PLACE_BURST, one back
        every PLACE_REFILL_S."""
        tokens, since = self._tokens.get(place, (float(PLACE_BURST), now))
        return min(float(PLACE_BURST), tokens + (now - since) / PLACE_REFILL_S)

    def _back_off(self, carer: str, now: float) -> float:
        wait = self._retry.get(carer, (0.0, RETRY_FIRST_S / 2))[1] * 2
        wait = min(max(wait, RETRY_FIRST_S), RETRY_MAX_S)
        self._retry[carer] = (now + wait, wait)
        return wait

    def _send_to(self, carer: str, url: str, alerts: list[tuple[str, str, str, dict]], now: float) -> bool:
        if len(alerts) == 1:
            site, device, msg_id, alert = alerts[0]
            title, body = message(alert, site, device, self.zones)
            what = f"alert {printable(alert.get('alert_id', msg_id), 80)}"
        else:
            title, body = group_message([(site, device, alert) for site, device, _, alert in alerts], self.zones)
            what = f"{len(alerts)} alerts"
        try:
            ok = self.send(url, title, body)
            problem = "" if ok else "the service did not accept it"
        except Exception as exc:  # noqa: BLE001 - a carer's server is never a reason to stop
            ok, problem = False, f"{type(exc).__name__}: {printable(exc, 200)}"
        if not ok:
            self.failed += 1
            wait = self._back_off(carer, now)
            log.warning("could not send %s to carer %s (%s); trying again in %.0f s: check that carer's "
                        "address in collector.carers", what, carer, problem, wait)
            return False
        self._retry.pop(carer, None)
        self.sent += 1
        log.info("%s sent to carer %s%s", what, carer, "" if len(alerts) == 1 else " in one message")
        for site, device, msg_id, _ in alerts:
            self.store.mark_notified(site, device, msg_id, carer, time.time())
            if self.on_sent is not None:
                self.on_sent(site, device, msg_id)
        return True
