"""`silvergym serve [--config F]`: the carers' web app (Django under waitress).

Stateless: accounts, sessions, login failures and acknowledgements live in the database, so
several instances over one PostgreSQL serve the same carers (give them one web.secret_key).
Listens on 127.0.0.1 by default; put a TLS reverse proxy in front (docs/mqtt.md).
"""
from __future__ import annotations

import logging
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger("serve")


class SetupError(Exception):
    """A setting or database that cannot work; str() is one line with the fix."""


def secret_for(db: str, configured: str) -> str:
    """The key that signs sessions and CSRF tokens: the config's or $SILVERGYM_WEB_SECRET; with
    neither, a random key kept beside an SQLite store (made once, private to this user). Several
    instances over PostgreSQL must share one: refused without it."""
    secret = os.environ.get("SILVERGYM_WEB_SECRET") or configured
    if secret:
        if len(secret) < 32:
            raise SetupError("web.secret_key is shorter than 32 characters: use a long random one "
                             "(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')")
        return secret
    if db.startswith(("postgresql://", "postgres://")):
        raise SetupError("set web.secret_key (or $SILVERGYM_WEB_SECRET): every instance over one PostgreSQL "
                         "must sign with the same key")
    path = Path(db.removeprefix("sqlite:///") + ".web-secret")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    except OSError as exc:
        raise SetupError(f"cannot keep the web app's key beside the database ({exc}); set web.secret_key") from None
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(50) + "\n")
    return path.read_text().strip()


def open_app(args):
    """Django configured and migrated for the config's store; returns the config."""
    from common.central.collector import safe_dsn
    from common.central.web import settings
    from common.config import load

    cfg = load(args.config, args.overrides)
    db = cfg.collector.db
    if not db.startswith(("postgresql://", "postgres://")) and not Path(db.removeprefix("sqlite:///")).parent.is_dir():
        raise SetupError(f"the folder of the database {db} does not exist: check collector.db")
    web = cfg.web.model_copy(update={"secret_key": secret_for(db, cfg.web.secret_key)})
    settings.configure(db, web)
    try:
        settings.migrate()
    except Exception as exc:  # noqa: BLE001 - sqlite3's or psycopg's errors: the database cannot be used
        raise SetupError(f"cannot use the database {safe_dsn(db)}: {str(exc).splitlines()[0] if str(exc) else exc}; "
                         "check collector.db and that PostgreSQL runs") from None
    return cfg


def run(args) -> int:
    from common.bus.service import setup_logging

    setup_logging("serve")
    os.umask(0o077)
    try:
        cfg = open_app(args)
    except SetupError as exc:
        log.error("%s", exc)
        return 2
    import waitress
    from django.core.wsgi import get_wsgi_application

    web = cfg.web
    proxy = ({"trusted_proxy": "127.0.0.1", "trusted_proxy_count": 1,
              "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"}} if web.behind_tls else {})
    # Against slow clients: waitress reads each request whole before a thread sees it, but it takes
    # only `connection_limit` connections (100 by default, and 120 half-sent requests then kept
    # GET /login waiting 15 s). More connections, and a connection that sends nothing for
    # SLOW_CLIENT_S is closed (checked every few seconds).
    server = waitress.create_server(get_wsgi_application(), host=web.listen, port=web.port, threads=web.threads,
                                    ident="silvergym", connection_limit=CONNECTION_LIMIT,
                                    channel_timeout=SLOW_CLIENT_S, cleanup_interval=5, **proxy)
    stop = threading.Event()
    threading.Thread(target=_draw_reports_as_sessions_arrive, args=(stop,), name="reports", daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: server.close())
    log.info("the carers' web app is at http://%s:%s/ (%s)", web.listen, server.effective_port,
             "behind a TLS proxy" if web.behind_tls else "plain HTTP: put a TLS reverse proxy in front for anyone "
             "outside this machine")
    sys.stderr.flush()
    try:
        server.run()
    except (KeyboardInterrupt, OSError):
        pass
    finally:
        stop.set()
        server.close()
    return 0


REDRAW_EVERY_S = 30.0
CONNECTION_LIMIT = 600  # under the usual 1,024 open files
SLOW_CLIENT_S = 20  # a connection silent this long is closed
CLEAR_SESSIONS_EVERY_S = 3600.0


def _draw_reports_as_sessions_arrive(stop: threading.Event) -> None:
    """Reports are drawn when sessions arrive, not when a carer opens one (a report's charts take
    a quarter of a second; twenty carers at once would wait seconds)."""
    from common.central.web.views import draw_new_reports

    cleared_at = float("-inf")
    while not stop.is_set():
        if time.monotonic() - cleared_at >= CLEAR_SESSIONS_EVERY_S:
            cleared_at = time.monotonic()
            try:
                clear_expired_sessions()
            except Exception as exc:  # noqa: BLE001 - a database hiccup: next hour
                log.warning("could not clear expired sessions (%s); trying again in an hour", exc)
        try:
            drawn = draw_new_reports(stop)
            if drawn:
                log.info("drew %d report(s) of participants with new sessions or alerts", drawn)
        except Exception as exc:  # noqa: BLE001 - a database hiccup: pages still draw on demand; try again
            log.warning("could not draw the new reports ahead (%s); they are drawn when opened", exc)
        stop.wait(REDRAW_EVERY_S)


def clear_expired_sessions() -> int:
    """Delete the session rows past their expiry (Django never does by itself); returns how many."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    if deleted:
        log.info("cleared %d expired session(s)", deleted)
    return deleted
