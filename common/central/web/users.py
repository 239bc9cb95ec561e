"""`silvergym users add|link|unlink|list|remove|password`: the web app's accounts from the
command line (an admin's first account comes from here). Passwords are read from standard input
(one line) or asked for, never taken as an argument."""
from __future__ import annotations

import getpass
import sys

from common.central.web.serve import SetupError, open_app


def _password(args) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise SetupError("the two passwords differ; nothing was changed")
    return first


def run(args) -> int:
    try:
        open_app(args)
        said = _do(args)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if said:
        print(said)
    return 0


def _do(args) -> str:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    from common.central.web.audit import record
    from common.central.web.models import FamilyLink
    from common.central.web.views import make_account

    users = get_user_model().objects
    user = users.filter(username=args.name).first() if args.name else None
    if args.action != "list" and not args.name:
        raise SetupError(f"users {args.action} needs an account name")
    if args.action == "list":
        lines = []
        for u in users.order_by("username"):
            account = getattr(u, "account", None)
            links = ", ".join(f"{k.site}/{k.device}/{k.participant}" for k in u.links.all())
            lines.append(f"{u.username}\t{account.role if account else '?'}\t{account.site if account else ''}\t{links}")
        return "\n".join(lines) or "no accounts yet: silvergym users add NAME --role admin"
    if args.action == "add":
        if user is not None:
            raise SetupError(f"there is already an account {args.name!r}")
        if args.role == "staff" and not args.site:
            raise SetupError("a staff account needs --site (the site whose participants and devices they see)")
        password = _password(args)
        try:
            validate_password(password)
        except ValidationError as exc:
            raise SetupError(f"password refused: {' '.join(exc.messages)}") from None
        make_account(args.name, args.role, args.site, password)
        record("(command line)", "account added", None, f"{args.name} ({args.role})")
        return f"added {args.name} ({args.role}{', site ' + args.site if args.role == 'staff' else ''})"
    if user is None:
        raise SetupError(f"no account {args.name!r}: silvergym users list shows them")
    if args.action in ("link", "unlink"):
        if not (args.site and args.device and args.participant):
            raise SetupError(f"users {args.action} needs --site, --device and --participant (a participant is known "
                             "by all three)")
        if getattr(user, "account", None) is None or user.account.role != "family":
            raise SetupError(f"{args.name} is not a family carer: only family accounts are linked to participants")
        where = dict(user=user, site=args.site, device=args.device, participant=args.participant)
        if args.action == "link":
            from common.central.web import access

            if not args.new and not access.ever_seen(access.Person(args.site, args.device, args.participant)):
                # a typo would link the carer to nobody, and they would see nothing, silently
                known = access.keys_at(args.site, args.device)
                raise SetupError(f"no session or alert of {args.participant!r} has come from {args.site}/{args.device} "
                                 f"({'known there: ' + ', '.join(known[:10]) if known else 'nothing from that device yet'}); "
                                 "check the three, or add --new for someone who has not exercised yet")
            FamilyLink.objects.get_or_create(**where)
        else:
            FamilyLink.objects.filter(**where).delete()
        record("(command line)", f"{args.action}ed", None, f"{args.name} {args.site}/{args.device}/{args.participant}")
        return f"{args.action}ed {args.name} {'to' if args.action == 'link' else 'from'} {args.site}/{args.device}/{args.participant}"
    if args.action == "remove":
        user.delete()
        record("(command line)", "account removed", None, args.name)
        return f"removed {args.name}"
    if args.action == "password":
        password = _password(args)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise SetupError(f"password refused: {' '.join(exc.messages)}") from None
        user.set_password(password)
        user.save()
        record("(command line)", "password changed", None, args.name)
        return f"changed the password of {args.name}"
    raise SetupError(f"unknown action {args.action}")
