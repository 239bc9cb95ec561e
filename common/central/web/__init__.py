"""`silvergym serve`: the carers' web app on the central store (Django).

Staff of a site see that site's participants and devices, a family carer only the participants
linked to them, an admin everything and manages accounts and links (`silvergym users`, and the
app's /manage page). Django gives the accounts, password hashing, sessions, CSRF protection and
schema migrations; django-axes the login rate limit per account and per address; django-csp the
Content-Security-Policy header. The collector's tables (sessions, alerts, devices, alert_acks)
are read with plain SQL through Django's connection: the collector owns them.
"""
