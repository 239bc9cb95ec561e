"""Two login limits where django-axes has one: an account from one address is blocked after
web.login_failures, an address (for every account) only after web.address_login_failures. A
senior center's carers share one public address; one of them mistyping must not lock out the rest."""
from __future__ import annotations


def failure_limit(request, credentials) -> int:
    """axes' AXES_FAILURE_LIMIT. axes compares the larger of the pair's and the address's failures
    with this one number, so: the per-account limit once the pair (AXES_LOCKOUT_PARAMETERS[0],
    username + address) has reached it, else the address's (which the pair, below its own, cannot
    reach)."""
    from axes.handlers.proxy import AxesProxyHandler
    from django.conf import settings
    from django.db.models import Sum

    attempts = AxesProxyHandler.get_implementation().get_user_attempts(request, credentials)
    pair = attempts[0].aggregate(total=Sum("failures_since_start"))["total"] or 0
    return settings.LOGIN_FAILURES if pair >= settings.LOGIN_FAILURES else settings.ADDRESS_LOGIN_FAILURES
