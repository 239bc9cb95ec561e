"""A site's clock as carers read it, Django-free: the web pages (views.when) and the carers'
messages (notify) both show a time in the site's zone (web.site_time_zones, else web.time_zone)
with the zone named ("2026-12-06 14:07 한국 시간"), so a message and a page never disagree."""
from __future__ import annotations

import datetime as dt
import functools
import time
from dataclasses import dataclass, field

from common.texts import load_texts


def _on_calendar(unix) -> bool:
    from common.central.store import on_calendar
    return on_calendar(unix)


@functools.lru_cache(maxsize=2)
def _words(locale: str) -> dict[str, str]:
    return {k[4:]: v for k, v in load_texts(locale).items() if k.startswith("web.")}


def zone_name(zone, locale: str, unix: float | None = None) -> str:
    """The zone in the locale's words ("한국 시간"), else its offset from UTC in them ("세계시+9")."""
    named = _words(locale).get(f"zone.{zone.key}")
    if named:
        return named
    offset = dt.datetime.fromtimestamp(unix if _on_calendar(unix) else time.time(), zone).utcoffset()
    minutes = int(offset.total_seconds() // 60)
    hours = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60}" + (f":{abs(minutes) % 60:02d}" if minutes % 60 else "")
    return _words(locale)["zone_offset"].format(offset=hours)


def fell_unix(alert: dict) -> float:
    """When it happened: a fall the device asked about ("괜찮으세요?") is stored when the carer was
    called, after the question's countdown; its asked_unix is when the person fell. The report, the
    pages and the carers' messages all show this time."""
    asked, called = alert.get("asked_unix"), alert.get("unix")
    if isinstance(asked, (int, float)) and isinstance(called, (int, float)) and _on_calendar(asked) and asked <= called:
        return float(asked)
    return called


@dataclass(frozen=True)
class SiteZones:
    """web.time_zone and web.site_time_zones (IANA names, validated by the config)."""
    default: str = "Asia/Seoul"
    sites: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, web) -> "SiteZones":
        return cls(web.time_zone, dict(web.site_time_zones))

    def zone_of(self, site: str):
        from zoneinfo import ZoneInfo
        return ZoneInfo(self.sites.get(site, self.default))

    def when(self, unix, site: str, locale: str) -> str:
        """The time on the site's clock with the zone named, or "?" for a time no clock could mean."""
        if not _on_calendar(unix):
            return "?"
        zone = self.zone_of(site)
        local = dt.datetime.fromtimestamp(unix, dt.timezone.utc).astimezone(zone)
        return f"{local:%Y-%m-%d %H:%M} {zone_name(zone, locale, unix)}"
