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
