"""The audit log's entries for logins, refused logins and logouts (Django's auth signals)."""
from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver


def address(request) -> str:
    return (request.META.get("REMOTE_ADDR", "") if request is not None else "")[:64]


def record(username: str, event: str, request=None, detail: str = "") -> None:
    from common.central.web.models import AuditEntry

    AuditEntry.objects.create(username=username[:150], event=event, address=address(request), detail=detail[:300])


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    record(user.get_username(), "login", request)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    record(str(credentials.get("username", "")), "login refused", request)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        record(user.get_username(), "logout", request)


AUDIT_ROWS = 50  # rows the admin's page shows
FLOOD_EVENTS = ("login refused", "login locked out")  # a flood alternates them: one run


def _kin(event: str) -> str:
    return "refused" if event in FLOOD_EVENTS else event

AUDIT_SCAN = 5000  # entries read to fill them


def latest_grouped(rows: int = AUDIT_ROWS, scan: int = AUDIT_SCAN) -> list[tuple]:
    """The audit log for the admin's page, newest first, with each run of the same event from the
    same address as one row: (newest entry of the run, entries in it, oldest entry, accounts
    named in it, its events newest first). A flood of refused or locked-out logins (300 from one address) is one row, so
    the 49 rows under it still show what else happened."""
    from common.central.web.models import AuditEntry

    out: list[list] = []
    for entry in AuditEntry.objects.order_by("-when", "-id")[:scan]:
        last = out[-1] if out else None
        if last is not None and _kin(last[0].event) == _kin(entry.event) and last[0].address == entry.address \
                and entry.event not in ("alert acknowledged",):
            last[1] += 1
            last[2] = entry
            last[3].add(entry.username)
            last[4].setdefault(entry.event)
            continue
        if len(out) == rows:
            break
        out.append([entry, 1, entry, {entry.username}, {entry.event: None}])
    return [(newest, n, oldest, len(names), tuple(events)) for newest, n, oldest, names, events in out]
