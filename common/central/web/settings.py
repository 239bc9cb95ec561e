"""Django's settings for `silvergym serve` and `silvergym users`, from the [web] and [collector]
config sections. One call per process (configure), before anything of Django is imported."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent


def database(dsn: str) -> dict:
    """Django's DATABASES entry for the collector's store: an SQLite path or a PostgreSQL URL."""
    if dsn.startswith(("postgresql://", "postgres://")):
        url = urlsplit(dsn)
        return {"ENGINE": "django.db.backends.postgresql", "NAME": url.path.lstrip("/") or "postgres",
                "USER": unquote(url.username or ""), "PASSWORD": unquote(url.password or ""),
                "HOST": url.hostname or "", "PORT": str(url.port or ""), "CONN_MAX_AGE": 60,
                "CONN_HEALTH_CHECKS": True}
    # WAL and a busy timeout, as the collector opens it: the collector writes while the app reads.
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": dsn.removeprefix("sqlite:///"),
            "OPTIONS": {"timeout": 10, "init_command": "PRAGMA journal_mode=WAL"}}


def configure(db: str, web) -> None:
    """`web`: the config's WebConfig. Secure cookies and HSTS only when `web.behind_tls` says a
    TLS reverse proxy is in front (docs/mqtt.md); waitress then takes the client's address and
    scheme from the proxy's X-Forwarded-* headers (serve.py)."""
    import django
    from django.conf import settings

    tls = web.behind_tls
    settings.configure(
        DEBUG=False,
        SECRET_KEY=web.secret_key,
        ALLOWED_HOSTS=list(web.hosts),
        ROOT_URLCONF="common.central.web.urls",
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                        "axes", "common.central.web.apps.CarersConfig"],
        MIDDLEWARE=["django.middleware.security.SecurityMiddleware",
                    "django.contrib.sessions.middleware.SessionMiddleware",
                    "django.middleware.common.CommonMiddleware",
                    "django.middleware.csrf.CsrfViewMiddleware",
                    "django.contrib.auth.middleware.AuthenticationMiddleware",
                    "django.middleware.clickjacking.XFrameOptionsMiddleware",
                    "csp.middleware.CSPMiddleware",
                    "axes.middleware.AxesMiddleware"],
        AUTHENTICATION_BACKENDS=["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"],
        DATABASES={"default": database(db)},
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [],
                    "APP_DIRS": True, "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                                                         "django.contrib.auth.context_processors.auth"]}}],
        USE_TZ=True,
        TIME_ZONE=web.time_zone,
        SITE_TIME_ZONES=dict(web.site_time_zones),  # ours: a site's pages' times in its own zone (views.zone_of)
        LANGUAGE_CODE="ko",
        LOGIN_URL="/login",
        LOGIN_REDIRECT_URL="/",
        CSRF_FAILURE_VIEW="common.central.web.views.csrf_failure",
        # Sessions in the database: any instance over the one PostgreSQL serves any request.
        SESSION_ENGINE="django.contrib.sessions.backends.db",
        # Drawn reports, shared by every instance over the database (the charts are the slow part).
        CACHES={"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "carers_cache",
                            "TIMEOUT": 7 * 86400, "OPTIONS": {"MAX_ENTRIES": 5000}}},
        SESSION_COOKIE_AGE=int(web.session_hours * 3600),
        SESSION_EXPIRE_AT_BROWSER_CLOSE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=tls,
        SESSION_COOKIE_NAME="silvergym_session",
        CSRF_COOKIE_HTTPONLY=True,
        CSRF_COOKIE_SAMESITE="Strict",
        CSRF_COOKIE_SECURE=tls,
        CSRF_TRUSTED_ORIGINS=[f"https://{h}" for h in web.hosts if h not in ("127.0.0.1", "localhost")] if tls else [],
        SECURE_HSTS_SECONDS=31536000 if tls else 0,
        SECURE_CONTENT_TYPE_NOSNIFF=True,
        SECURE_REFERRER_POLICY="same-origin",
        SECURE_CROSS_ORIGIN_OPENER_POLICY="same-origin",
        X_FRAME_OPTIONS="DENY",
        # No script at all, inline or not; the reports' charts are images in the page (data: URLs).
        CONTENT_SECURITY_POLICY={"DIRECTIVES": {
            "default-src": ["'none'"], "script-src": ["'none'"], "img-src": ["'self'", "data:"],
            "style-src": ["'self'"], "form-action": ["'self'"], "frame-ancestors": ["'none'"],
            "base-uri": ["'none'"]}},
        # Two limits (axes has one per request): an account from one address after login_failures,
        # an address for every account after address_login_failures (lockout.failure_limit).
        AXES_FAILURE_LIMIT="common.central.web.lockout.failure_limit",
        LOGIN_FAILURES=web.login_failures,  # ours
        ADDRESS_LOGIN_FAILURES=max(web.address_login_failures, web.login_failures),  # ours
        AXES_COOLOFF_TIME=dt.timedelta(minutes=web.lockout_minutes),
        # Locked: an account from one address (the pair), and an address for every account (the order
        # lockout.failure_limit reads). Never an
        # account from everywhere: five wrong passwords from one address locked its carer out
        # everywhere, renewable by anyone who knew the user name.
        AXES_LOCKOUT_PARAMETERS=[["username", "ip_address"], "ip_address"],
        AXES_RESET_ON_SUCCESS=True,
        AXES_LOCKOUT_CALLABLE="common.central.web.views.locked_out",
        # The client's address: behind the proxy, waitress has already put X-Forwarded-For there (serve.py).
        AXES_IPWARE_META_PRECEDENCE_ORDER=["REMOTE_ADDR"],
        AXES_VERBOSE=False,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
        AUTH_PASSWORD_VALIDATORS=[{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
                                   "OPTIONS": {"min_length": 10}},
                                  {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"}],
        # Through the process's one handler (setup_logging): errors, and axes' lockouts and failures.
        LOGGING={"version": 1, "disable_existing_loggers": False,
                 "loggers": {"django.request": {"level": "ERROR"}, "axes": {"level": "WARNING"}}},
    )
    django.setup()


MIGRATION_LOCK = 0x5167_7961  # PostgreSQL advisory lock id: one instance migrates at a time


def migrate(quiet: bool = True) -> None:
    """Bring the app's tables to this version (Django's migrations), and the collector's own.
    Instances starting together over one database take turns (two at once both try to create the
    same tables and one fails)."""
    import contextlib
    import fcntl

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from common.central.collector import SCHEMA_SQL

    with contextlib.ExitStack() as held:
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            held.callback(lambda: connection.cursor().execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,)))
        else:
            lock = held.enter_context(open(f"{settings.DATABASES['default']['NAME']}.migrate-lock", "a"))
            fcntl.flock(lock, fcntl.LOCK_EX)
        call_command("migrate", interactive=False, verbosity=0 if quiet else 1)
        call_command("createcachetable", verbosity=0)
        with connection.cursor() as cur:
            for sql in SCHEMA_SQL:
                cur.execute(sql)
