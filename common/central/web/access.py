"""Who may see which participant and device, and what the pages read of the collector's tables.

Every read of a participant's data goes through `visible_people` or `may_see`: staff see their
site's participants, a family carer the participants linked to them, an admin every one. A
participant someone may not see is answered exactly like one that does not exist (404).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace

from django.db import connection

from common.central.store import ALERTS_OF_SQL, SESSIONS_OF_SQL, on_calendar

WEEK_S = 7 * 86400.0
OPEN_ALERTS_DAYS = 30  # an unanswered alert stays first on the page this long
# An alert dated this far past the server's clock is one no device can mean (a wrong clock, or
# forged): flagged and put after the alerts that could have happened (50 future-dated fakes pushed
# a real fall to place 302 of 601).
FUTURE_SLACK_S = 300.0
RECENT_SESSIONS = 10  # read per participant for the week page's trend and left/right flag


@dataclass(frozen=True, order=True)
class Person:
    site: str
    device: str
    key: str

    @property
    def shown(self) -> str:
        """The key as a page shows it: control characters as '?', cut at 80 (a device may send anything)."""
        from common.central.collector import printable

        return printable(self.key, 80)


def name_in(payloads, person: Person) -> str:
    """The name the device sent with the newest of these records (participant_name, e.g. 김영희),
    as a page shows it; the person's key when none has one (older devices, a config without names)."""
    from common.central.collector import printable

    for payload in reversed(payloads):
        name = payload.get("participant_name") if isinstance(payload, dict) else None
        if isinstance(name, str) and name.strip():
            return printable(name.strip(), 80)
    return person.shown


def name_of(person: Person) -> str:
    """name_in of the person's newest session, else of their newest alert."""
    return name_in(alerts_of(person) + sessions_of(person, newest=1), person)


def role(user) -> str:
    account = getattr(user, "account", None)
    return account.role if account is not None else ""


def _rows(sql: str, args=()) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def visible_people(user) -> list[Person]:
    kind = role(user)
    # Whoever has a session or an alert: a senior who fell in their first session has only the alert.
    if kind == "admin":
        rows = _rows("SELECT site, device, participant FROM sessions UNION SELECT site, device, participant FROM alerts")
    elif kind == "staff":
        rows = _rows("SELECT site, device, participant FROM sessions WHERE site = %s UNION "
                     "SELECT site, device, participant FROM alerts WHERE site = %s", (user.account.site,) * 2)
    elif kind == "family":
        rows = [(link.site, link.device, link.participant) for link in user.links.all()]
    else:
        rows = []
    return sorted(Person(*r) for r in rows)


def ever_seen(person: Person) -> bool:
    """Whether any session or alert of this participant came from that site and device."""
    args = (person.site, person.device, person.key)
    return bool(_rows("SELECT 1 FROM sessions WHERE site = %s AND device = %s AND participant = %s UNION "
                      "SELECT 1 FROM alerts WHERE site = %s AND device = %s AND participant = %s", args * 2))


def keys_at(site: str, device: str) -> list[str]:
    """The participants' keys seen from that site and device (what a carer might have meant)."""
    return sorted(r[0] for r in _rows("SELECT participant FROM sessions WHERE site = %s AND device = %s UNION "
                                      "SELECT participant FROM alerts WHERE site = %s AND device = %s",
                                      (site, device) * 2))


def may_see(user, person: Person) -> bool:
    kind = role(user)
    if kind == "admin":
        return True
    if kind == "staff":
        return person.site == user.account.site
    if kind == "family":
        return user.links.filter(site=person.site, device=person.device, participant=person.key).exists()
    return False


def visible_sites(user) -> list[str] | None:
    """The sites whose devices the user may see: None for every site (admin), [] for none (family)."""
    kind = role(user)
    return None if kind == "admin" else [user.account.site] if kind == "staff" else []


def sessions_of(person: Person, newest: int | None = None) -> list[dict]:
    """The person's stored sessions, oldest first (the newest `newest` of them when given)."""
    sql = SESSIONS_OF_SQL.replace("?", "%s") + " DESC"  # the store's own query, newest first here
    rows = _rows(sql + (f" LIMIT {int(newest)}" if newest else ""), (person.key, person.site, person.device))
    return [json.loads(r[0]) for r in reversed(rows)]


def sessions_since(person: Person, since_unix: float) -> int:
    (n,), = _rows("SELECT COUNT(*) FROM sessions WHERE site = %s AND device = %s AND participant = %s "
                  "AND started_unix >= %s", (person.site, person.device, person.key, since_unix))
    return n


def stored_version(person: Person) -> tuple:
    """(sessions, newest session's start, alerts, newest alert's time) stored for the person:
    what a drawn report depends on."""
    return _versions(person).get(person, (0, None, 0, None))


def all_versions() -> dict[Person, tuple]:
    """stored_version of every participant with a session or an alert."""
    return _versions(None)


def _versions(person: Person | None) -> dict[Person, tuple]:
    """stored_version per participant with a session or an alert (only `person` when given), in
    two queries."""
    where, args = ("WHERE site = %s AND device = %s AND participant = %s", (person.site, person.device, person.key)) \
        if person else ("", ())
    sessions = _rows(f"SELECT site, device, participant, COUNT(*), MAX(started_unix) FROM sessions {where} "
                     "GROUP BY site, device, participant", args)
    alerts = _rows(f"SELECT site, device, participant, COUNT(*), MAX(unix) FROM alerts {where} "
                   "GROUP BY site, device, participant", args)
    out = {Person(*r[:3]): (r[3], r[4], 0, None) for r in sessions}
    for r in alerts:
        out[Person(*r[:3])] = out.get(Person(*r[:3]), (0, None))[:2] + (r[3], r[4])
    return out


def alerts_of(person: Person) -> list[dict]:
    rows = _rows(ALERTS_OF_SQL.replace("?", "%s"), (person.key, person.site, person.device))
    return [json.loads(r[0]) for r in rows]


@dataclass
class AlertRow:
    person: Person
    msg_id: str
    kind: str
    unix: float
    spot: int | None
    acked_by: str
    acked_unix: float | None
    name: str = ""  # as the device sent it with the alert (participant_name), else the key
    impossible_time: bool = False  # dated after now (+ FUTURE_SLACK_S) or off the calendar
    acked_role: str = ""  # the role of whoever answered it ("admin", "staff", "family"), "" if unknown
    fell_unix: float | None = None  # when the person fell (report.fell_unix): `unix` is when the carer was called
    answer: str = ""  # why the device called: "no_answer" (asked, nobody answered), "hard_fall", else ""


def alerts_for(people: list[Person], now: float | None = None) -> list[AlertRow]:
    """The alerts of these people worth the week page: every unanswered one of the last
    OPEN_ALERTS_DAYS, and the answered ones of the last week; newest first."""
    from common.central.sitetime import fell_unix

    now = time.time() if now is None else now
    if not people:
        return []
    wanted = set(people)
    sites = sorted({p.site for p in people})
    marks = ", ".join(["%s"] * len(sites))
    rows = _rows("SELECT a.site, a.device, a.participant, a.msg_id, a.kind, a.unix, a.payload, k.by_user, k.acked_unix "
                 "FROM alerts a LEFT JOIN alert_acks k ON k.site = a.site AND k.device = a.device AND k.msg_id = a.msg_id "
                 f"WHERE a.site IN ({marks}) AND a.unix >= %s ORDER BY a.unix DESC",
                 (*sites, now - OPEN_ALERTS_DAYS * 86400.0))
    out = []
    for site, device, participant, msg_id, kind, unix, payload, by_user, acked_unix in rows:
        person = Person(site, device, participant)
        if person not in wanted or (by_user is not None and unix < now - WEEK_S):
            continue
        data = json.loads(payload)
        spot = data.get("spot")
        impossible = not on_calendar(unix) or unix > now + FUTURE_SLACK_S
        out.append(AlertRow(person, msg_id, kind, unix, spot if isinstance(spot, int) else None, by_user or "",
                            acked_unix, name_in([data], person), impossible,
                            fell_unix=fell_unix({**data, "unix": unix}) if on_calendar(unix) else None,
                            answer=data["answer"] if isinstance(data.get("answer"), str) else ""))
    roles = _roles_of({a.acked_by for a in out if a.acked_by})
    out = [replace(a, acked_role=roles.get(a.acked_by, "")) if a.acked_by else a for a in out]
    # Unanswered first; within each, by when they happened, newest first, and the times no
    # device can mean after all of them.
    return sorted(out, key=lambda a: (a.acked_by != "", a.impossible_time, -a.unix if on_calendar(a.unix) else 0.0))


def _roles_of(usernames: set[str]) -> dict[str, str]:
    from common.central.web.models import Account

    return dict(Account.objects.filter(user__username__in=usernames).values_list("user__username", "role"))


def answerer_shown(viewer, username: str, role: str, role_words: dict[str, str]) -> str:
    """Who answered an alert, as `viewer` may read it: their user name for themselves, an admin,
    and colleagues of the same role; for anyone else the role's word (a family member does not
    learn staff's user names, the first half of a login, nor staff a family's)."""
    viewer_role = getattr(getattr(viewer, "account", None), "role", "")
    if username == viewer.get_username() or viewer_role == "admin" or (viewer_role == role and role == "staff"):
        return username
    return role_words.get(role, role_words.get("staff", "?"))


def acknowledge(user, site: str, device: str, msg_id: str) -> bool:
    """Mark the alert answered by `user`, once (the first answer stands). False when the user may
    not see it or it does not exist."""
    rows = _rows("SELECT participant FROM alerts WHERE site = %s AND device = %s AND msg_id = %s", (site, device, msg_id))
    if not rows or not may_see(user, Person(site, device, rows[0][0])):
        return False
    with connection.cursor() as cur:
        cur.execute("INSERT INTO alert_acks (site, device, msg_id, by_user, acked_unix) VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT (site, device, msg_id) DO NOTHING", (site, device, msg_id, user.get_username(), time.time()))
    return True


def devices_for(sites: list[str] | None) -> list[dict]:
    """Each device's last status, health and session at these sites (None: every site)."""
    where, args = ("", ()) if sites is None else (f"WHERE d.site IN ({', '.join(['%s'] * len(sites))})", tuple(sites))
    if sites == []:
        return []
    rows = _rows("SELECT d.site, d.device, d.state, d.health, d.updated_unix, "
                 "(SELECT MAX(s.started_unix) FROM sessions s WHERE s.site = d.site AND s.device = d.device) "
                 f"FROM devices d {where} ORDER BY d.site, d.device", args)
    out = []
    for site, device, state, health, updated, last_session in rows:
        try:
            h = json.loads(health) if health else {}
        except ValueError:
            h = {}
        out.append({"site": site, "device": device, "state": state or "", "updated_unix": updated,
                    "camera": str(h.get("camera", "")), "backend": str(h.get("backend", "")),
                    "health_unix": h.get("unix") if isinstance(h.get("unix"), (int, float)) else None,
                    "last_session_unix": last_session})
    return out


# -- classes (group mode) ------------------------------------------------------------------------------
# A class is the sessions one box stored under one class_id (a field of the stored payload, as
# `silvergym report --class` reads it). Who may see a class's member is may_see's answer for that
# member: staff see their site's classes whole; a family carer sees a class their linked senior took
# part in with that senior's row alone (the others counted, never named).

CLASS_ID_CHARS = "0123456789abcdef"
MAX_CLASSES = 50  # listed on the week page, newest first


def _class_sites(user) -> list[str] | None:
    """The sites whose classes the user might see something of: None for every site (admin)."""
    kind = role(user)
    if kind == "family":
        return sorted({link.site for link in user.links.all()})
    return visible_sites(user) if kind in ("admin", "staff") else []


def _class_payloads(sites: list[str] | None, since_unix: float) -> list[tuple]:
    if sites == []:
        return []
    where, args = ("", ()) if sites is None else (f" AND site IN ({', '.join(['%s'] * len(sites))})", tuple(sites))
    return _rows("SELECT site, device, payload FROM sessions WHERE started_unix >= %s AND payload LIKE %s" + where +
                 " ORDER BY started_unix", (since_unix, '%"class_id": "%', *args))


def classes_for(user, since_unix: float) -> list[dict]:
    """The classes since `since_unix` the user may see at least one member of, newest first:
    site, device, class_id, the first member's session (its start and routine), how many took part."""
    found: dict[tuple, list[dict]] = {}
    for site, device, payload in _class_payloads(_class_sites(user), since_unix):
        session = json.loads(payload)
        class_id = session.get("class_id")
        if isinstance(class_id, str) and class_id and set(class_id) <= set(CLASS_ID_CHARS):
            found.setdefault((site, device, class_id), []).append(session)
    out = []
    for (site, device, class_id), sessions in found.items():
        if not any(may_see(user, Person(site, device, str(s.get("participant", "")))) for s in sessions):
            continue
        first = min(sessions, key=lambda s: s.get("started_unix") if on_calendar(s.get("started_unix")) else 0.0)
        out.append({"site": site, "device": device, "class_id": class_id, "first": first, "members": len(sessions)})
    out.sort(key=lambda c: -(c["first"].get("started_unix") if on_calendar(c["first"].get("started_unix")) else 0.0))
    return out[:MAX_CLASSES]


def class_members(user, site: str, device: str, class_id: str) -> tuple[list[tuple], int]:
    """((site, device, session) of each member of the class the user may see, how many others took
    part); ([], 0) for a class that does not exist or of which the user may see nobody (the page
    answers both alike: 404)."""
    if not (4 <= len(class_id) <= 64 and set(class_id) <= set(CLASS_ID_CHARS)):
        return [], 0
    rows = _rows("SELECT payload FROM sessions WHERE site = %s AND device = %s AND payload LIKE %s",
                 (site, device, f'%"class_id": "{class_id}"%'))
    sessions = [s for s in (json.loads(r[0]) for r in rows) if s.get("class_id") == class_id]
    seen = [(site, device, s) for s in sessions if may_see(user, Person(site, device, str(s.get("participant", ""))))]
    return (seen, len(sessions) - len(seen)) if seen else ([], 0)


def class_sessions_of(person: Person) -> list[dict]:
    """The person's sessions taken in a class (those with a class_id), oldest first."""
    return [s for s in sessions_of(person) if isinstance(s.get("class_id"), str) and s["class_id"]]
