"""The pages: this week (alerts first, then each participant), a participant's report, the
devices, and account management for admins. Each reads only what `access` lets the user see;
anything else is the same 404 as a page that does not exist."""
from __future__ import annotations

import datetime as dt
import functools
import re
import time
from pathlib import Path

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from common.central import report
from common.central.collector import on_calendar
from common.central.web import access
from common.central.web.audit import latest_grouped, record
from common.central.web.models import ROLES, Account, FamilyLink
from common.texts import load_texts

LOCALES = ("ko", "en")
STYLE = Path(__file__).resolve().parent / "static" / "app.css"


@functools.lru_cache(maxsize=2)
def texts_of(locale: str) -> dict[str, str]:
    """The locale's texts, read once per process (not per request)."""
    return load_texts(locale)


@functools.lru_cache(maxsize=2)
def words(locale: str) -> dict[str, str]:
    """The page's words: the locale's "web.*" texts without the prefix (a template reads w.login)."""
    return {k[4:]: v for k, v in texts_of(locale).items() if k.startswith("web.")}


def locale_of(request) -> str:
    """?lang=en (or ko) switches and is remembered (in the session, and the account once logged in)."""
    asked = request.GET.get("lang")
    account = getattr(request.user, "account", None) if request.user.is_authenticated else None
    if asked in LOCALES:
        # Remembered in a logged-in carer's session only: an anonymous ?lang= writes no session row
        # (300 such requests left 300 rows), and a GET changes nothing stored of the account.
        if request.user.is_authenticated:
            request.session["lang"] = asked
        return asked
    if request.session.get("lang") in LOCALES:
        return request.session["lang"]
    return account.locale if account is not None and account.locale in LOCALES else "ko"


def when(unix: float | None, site: str, locale: str) -> str:
    """A time as the site's clock shows it, with the zone named: "2026-12-06 14:05 한국 시간"."""
    if not on_calendar(unix):
        return "?"
    local = dt.datetime.fromtimestamp(unix, dt.timezone.utc).astimezone(zone_of(site))
    return f"{local:%Y-%m-%d %H:%M} {zone_name(site, locale, unix)}"


@functools.cache
def zone_of(site: str):
    """The site's time zone: web.site_time_zones, else web.time_zone (settings.SITE_TIME_ZONES)."""
    from zoneinfo import ZoneInfo

    from django.conf import settings
    return ZoneInfo(getattr(settings, "SITE_TIME_ZONES", {}).get(site, settings.TIME_ZONE))


def zone_name(site: str, locale: str, unix: float | None = None) -> str:
    """The zone in the page's words ("한국 시간"), else its offset from UTC in them ("세계시+9"); the
    carers' messages name it the same way (common.central.sitetime)."""
    from common.central import sitetime
    return sitetime.zone_name(zone_of(site), locale, unix)


def page(request, template: str, status: int = 200, **context) -> HttpResponse:
    from django.utils import translation

    locale = locale_of(request)
    other = "en" if locale == "ko" else "ko"
    with translation.override(locale):  # Django's own messages (a form's "required", a weak password) too
        return render(request, f"carers/{template}", {"w": words(locale), "locale": locale, "other_locale": other,
                                                       "role": access.role(request.user), **context}, status=status)


def not_found(request, exception=None) -> HttpResponse:
    return page(request, "message.html", status=404, message=words(locale_of(request))["not_found"])


def csrf_failure(request, reason: str = "") -> HttpResponse:
    return page(request, "message.html", status=403, message=words(locale_of(request))["forbidden"])


def locked_out(request, credentials, *args, **kwargs) -> HttpResponse:
    """django-axes' answer once an account or an address has failed too often (429)."""
    from django.conf import settings

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    record(str((credentials or {}).get("username", "")), "login locked out", request)
    return page(request, "login.html", status=429, form=auth_views.AuthenticationForm(request),
                error=words(locale_of(request))["locked_out"].format(minutes=minutes))


class LoginView(auth_views.LoginView):
    template_name = "carers/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        locale = locale_of(self.request)
        context = super().get_context_data(**kwargs)
        asked = self.request.GET.get("lang")
        context.update(w=words(locale), locale=locale, other_locale="en" if locale == "ko" else "ko",
                       lang_query=f"?lang={asked}" if asked in LOCALES else "")
        if context["form"].errors:
            context["error"] = words(locale)["login_failed"]
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        if self.request.GET.get("lang") in LOCALES:  # chosen before logging in (kept in no session till now)
            self.request.session["lang"] = self.request.GET["lang"]
        return response


@require_GET
def style(request) -> HttpResponse:
    response = HttpResponse(STYLE.read_bytes(), content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "max-age=3600"
    return response


def _person_row(person: access.Person, now: float, texts: dict, locale: str, alert_names: dict) -> dict:
    # a session in which nobody moved, or a fall cut short, has no score to show or trend (report.counts_in_scores)
    newest = access.sessions_of(person, newest=access.RECENT_SESSIONS)
    recent = [s for s in newest if report.counts_in_scores(s)]
    # one the box read too sparsely is left out too, and the row says so: else a carer sees an older
    # score (or none) beside a session that happened, with no reason
    sparse = sum(1 for s in newest if report.read_too_sparsely(s))
    last = recent[-1] if recent else None
    going = report.trend([s["summary"]["score"] for s in recent]) if recent else None
    # each flag once, in its own words (which side, how much): two joints are two different sentences
    # (a program's left and right compared within one movement: report.left_right)
    flags = list(dict.fromkeys(report.left_right(recent[-report.RECENT:], texts))) if recent else []
    weakest = report.weakest_movement(last, texts, locale) if last else ""
    if weakest:  # a program: the movement to look at, as the report says it
        flags.append(weakest)
    name = access.name_in(recent, person) if recent else alert_names.get(person, person.shown)
    return {"person": person, "name": name,
            "last_when": when(last["started_unix"], person.site, locale) if last else "",
            "last_score": f"{last['summary']['score']:.0f}" if last and report.plottable(last) else "?" if last else "",
            "week": access.sessions_since(person, now - access.WEEK_S),
            "trend": going[0] if going else "none", "flags": flags,
            "left_out": texts["web.left_out_sparse"].format(n=sparse) if sparse else ""}


@login_required
@require_GET
def week(request) -> HttpResponse:
    locale = locale_of(request)
    texts = texts_of(locale)
    w = words(locale)
    now = time.time()
    people = access.visible_people(request.user)
    found = access.alerts_for(people, now)
    roles = {r: w.get(f"role_{r}", r) for r in ("admin", "staff", "family")}
    alerts = [{"alert": a, "when": when(a.unix if a.fell_unix is None else a.fell_unix, a.person.site, locale), "name": _alert_name(a, texts),
               "kind": texts.get(f"report.kind.{a.kind}", a.kind),
               # the place beside a name; one known by the place alone is already called by it
               "spot": w["alert_spot"].format(spot=a.spot) if a.spot and _alert_name(a, texts) == (a.name or a.person.shown)
               else "",
               "called": _called(a, texts),
               "acked": w["acked"].format(who=access.answerer_shown(request.user, a.acked_by, a.acked_role, roles),
                                          when=when(a.acked_unix, a.person.site, locale))
               if a.acked_by else ""}
              for a in found]
    alert_names = {a.person: a.name for a in reversed(found) if a.name}  # the newest alert's name wins
    # A class member known by their spot alone is a place in one class, not a person: no row (and
    # no trend across classes, where spot 1 is whoever stood there); their results are the classes'.
    rows = [_person_row(p, now, texts, locale, alert_names) for p in people if not _anonymous_spot(p, alert_names)]
    classes = [_class_row(c, locale) for c in access.classes_for(request.user, now - access.WEEK_S)]
    # answered alerts under their own heading, below the ones still waiting for someone
    return page(request, "week.html", alerts=[a for a in alerts if not a["acked"]],
                answered=[a for a in alerts if a["acked"]], rows=rows, classes=classes)


def _alert_name(alert: access.AlertRow, texts: dict) -> str:
    """Who an alert is of: the name the device sent, else the key; a class member not on the
    roster by their place ("2번 자리"), never "spot-2"."""
    name = alert.name or alert.person.shown
    spot = report.spot_key(alert.person.key)
    return texts["report.class_unnamed"].format(spot=spot) if spot and name == alert.person.shown else name


def _anonymous_spot(person: access.Person, alert_names: dict | None = None) -> int:
    """The spot of a participant key the scoring service gives a class member not on the roster
    ("spot-<n>") when no record of it carries a name; 0 for a person."""
    spot = report.spot_key(person.key)
    if not spot:
        return 0
    named = (alert_names or {}).get(person, person.shown) != person.shown or access.name_of(person) != person.shown
    return 0 if named else spot


def _class_row(found: dict, locale: str) -> dict:
    first = found["first"]
    return {**found, "when": when(first.get("started_unix"), found["site"], locale),
            "routine": report.routine_title(first, locale)}


def _called(alert: access.AlertRow, texts: dict) -> str:
    """Why and when the carer was called ("응답 없음 → 01:19에 보호자 호출"): the alert's time is the fall's."""
    words = texts.get(f"report.answer.{alert.answer}")
    if not words or not on_calendar(alert.unix):
        return ""
    return words.format(called=f"{dt.datetime.fromtimestamp(alert.unix, zone_of(alert.person.site)):%H:%M}")


def _person_from(query) -> access.Person:
    try:
        return access.Person(query["site"], query["device"], query["p"])
    except KeyError:
        raise Http404 from None


def _report_body(person: access.Person, version: tuple, locale: str) -> str:
    """The report's body, drawn once per participant, language and `version` (what is stored of
    them: sessions and alerts) for every instance (the database cache); the charts are the slow part."""
    from django.core.cache import cache

    def draw() -> str:
        # the ones read too sparsely go in too: render_body leaves them out of every score and trend
        # and says above the rest why (report.too_few_poses)
        sessions = [s for s in access.sessions_of(person) if report.plottable(s)
                    and (report.counts_in_scores(s) or report.read_too_sparsely(s))]
        alerts = [a for a in access.alerts_of(person) if on_calendar(a.get("unix"))]
        return report.render_body(sessions, alerts, locale, zone_of(person.site), zone_name(person.site, locale))

    return cache.get_or_set(report_key(person, version, locale), draw)


def report_key(person: access.Person, version: tuple, locale: str) -> str:
    import hashlib

    from django.conf import settings

    zone = getattr(settings, "SITE_TIME_ZONES", {}).get(person.site, settings.TIME_ZONE)  # a new zone: drawn again
    return "report:" + hashlib.sha256(repr((person, version, locale, zone)).encode()).hexdigest()


def draw_new_reports(stop) -> int:
    """Draw the report of every participant whose stored sessions or alerts changed since it was
    last drawn (in both languages), so that a carer opening it gets it at once; returns how many
    were drawn. Run by serve in the background; every instance shares what is drawn."""
    from django.core.cache import cache
    from django.db import connection

    drawn = 0
    try:
        for person, version in sorted(access.all_versions().items()):
            for locale in LOCALES:
                if stop.is_set():
                    return drawn
                if cache.get(report_key(person, version, locale)) is None:
                    _report_body(person, version, locale)
                    drawn += 1
    finally:
        connection.close()  # this thread's own connection
    return drawn


@login_required
@require_GET
def participant(request) -> HttpResponse:
    from django.utils.safestring import mark_safe

    person = _person_from(request.GET)
    if not access.may_see(request.user, person):
        raise Http404
    version = access.stored_version(person)
    if version[0] == version[2] == 0 and access.role(request.user) != "family":
        raise Http404  # a family carer's link may come before anything is stored; otherwise nobody by that name
    locale = locale_of(request)
    spot = _anonymous_spot(person)
    if spot:
        return _spot_page(request, person, spot, locale)
    body = _report_body(person, version, locale)
    title = texts_of(locale)["report.title"].format(name=access.name_of(person))
    return page(request, "participant.html", person=person, title=title,
                body=mark_safe(body),  # noqa: S308 - render_body escapes every value a device sent
                printable="print" in request.GET)


def _spot_page(request, person: access.Person, spot: int, locale: str) -> HttpResponse:
    """A class member known by their spot alone: each class on its own (its date, routine,
    repetitions, score, a link to the class), never one person's report with a trend across
    classes where whoever stood at that spot was counted as one person; and the spot's alerts."""
    from django.utils.safestring import mark_safe

    texts = texts_of(locale)
    w = words(locale)
    taken = []
    for s in reversed(access.class_sessions_of(person)):
        summary = s.get("summary") if isinstance(s.get("summary"), dict) else {}
        scored = report.exercised(s) and isinstance(summary.get("score"), (int, float))  # the report's one rule
        taken.append({"class_id": s["class_id"], "when": when(s.get("started_unix"), person.site, locale),
                      "routine": report.routine_title(s, locale), "reps": summary.get("reps", 0),
                      "score": f"{summary['score']:.0f}" if scored and report.plottable(s) else "-",
                      "practise": report.practise_words(s, locale) or "-"})
    alerts = [a for a in access.alerts_of(person) if on_calendar(a.get("unix"))]
    body = report.alerts_section(alerts, locale, zone_of(person.site), zone_name(person.site, locale)) if alerts else ""
    title = w["spot_title"].format(spot=spot, where=f"{person.site}/{person.device}")
    return page(request, "spot.html", person=person, title=title, taken=taken, reps_word=texts["report.class_reps"],
                alerts_body=mark_safe(body))  # noqa: S308 - render_body escapes every value a device sent


@login_required
@require_GET
def class_page(request) -> HttpResponse:
    """One class: its date, routine and members (spot or name, score, repetitions, what to
    practise), only the members the user may see (access.class_members); 404 when none."""
    site, device, class_id = (request.GET.get(k, "") for k in ("site", "device", "id"))
    members, others = access.class_members(request.user, site, device, class_id.lower())
    if not members:
        raise Http404
    locale = locale_of(request)
    texts = texts_of(locale)
    people = {access.Person(site, device, str(s.get("participant", ""))) for _, _, s in members}
    alerts = [a for p in sorted(people) for a in access.alerts_of(p)]
    rows = report.class_rows(members, texts, locale, alerts)
    for r in rows:  # a named member's own page (their report across sessions) is one click away
        r["person"] = access.Person(site, device, str(r["session"].get("participant", ""))) if r["named"] else None
    first = min((s for _, _, s in members), key=lambda s: s.get("started_unix") if on_calendar(s.get("started_unix")) else 0.0)
    started = when(first.get("started_unix"), site, locale)
    heads = [texts[f"report.class_{k}"] for k in ("spot", "who", "score", "reps", "practise", "partly", "falls")]
    program = texts["report.class_program"] if any(r["movements"] for r in rows) else ""
    return page(request, "class.html", heads=heads, title=texts["report.class_title"].format(when=started), site=site, device=device,
                program=program, movement_head=texts["report.program_movement"],
                routine=report.routine_title(first, locale), rows=rows, n=len(rows) + others,
                others=words(locale)["class_others"].format(n=others) if others else "",
                said=texts["report.class_where"].format(where=f"{site}/{device}", routine=report.routine_title(first, locale),
                                                        n=len(rows) + others))


@login_required
@require_POST
def acknowledge(request) -> HttpResponse:
    site, device, msg_id = (request.POST.get(k, "") for k in ("site", "device", "msg_id"))
    if not access.acknowledge(request.user, site, device, msg_id):
        raise Http404
    record(request.user.get_username(), "alert acknowledged", request, f"{site}/{device} {msg_id}")
    return redirect("week")


@login_required
@require_GET
def devices(request) -> HttpResponse:
    sites = access.visible_sites(request.user)
    if sites == []:
        raise Http404
    locale = locale_of(request)
    w = words(locale)
    rows = []
    for d in access.devices_for(sites):
        backend = d["backend"]
        state = d["state"] if d["state"] in ("online", "offline") else "unknown"
        rows.append({**d, "state": state, "state_text": w[f"state.{state}"],
                     "camera_text": w.get(f"camera.{d['camera'] or 'unknown'}", w["unknown"]),
                     "model_text": {"edgetpu": w["edgetpu"], "cpu": w["cpu"], "sim": w["sim"]}.get(backend, w["unknown"]),
                     "heard": when(d["health_unix"] or d["updated_unix"], d["site"], locale),
                     "last_session": when(d["last_session_unix"], d["site"], locale) if d["last_session_unix"]
                     else w["never"]})
    return page(request, "devices.html", devices=rows)


# -- accounts (admins) -------------------------------------------------------------------------------

class WordedForm(forms.Form):
    """A form whose labels (and choices) are the page's words, not the field names."""

    def __init__(self, *args, w: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.w = w
        for name, field in self.fields.items():
            field.label = w.get(name, name)


class AccountForm(WordedForm):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=[(r, r) for r, _ in ROLES])
    site = forms.CharField(max_length=64, required=False)
    password = forms.CharField(widget=forms.PasswordInput, max_length=200)

    def __init__(self, *args, w: dict, **kwargs):
        super().__init__(*args, w=w, **kwargs)
        self.fields["role"].choices = [(r, w[f"role_{r}"]) for r, _ in ROLES]

    def clean(self):
        data = super().clean()
        if data.get("role") == "staff" and not data.get("site"):
            raise ValidationError(self.w["error.staff_site"])
        if get_user_model().objects.filter(username=data.get("username", "")).exists():
            raise ValidationError(self.w["error.taken"])
        if data.get("password"):
            validate_password(data["password"])
        return data


class LinkForm(WordedForm):
    username = forms.CharField(max_length=150)
    site = forms.CharField(max_length=64)
    device = forms.CharField(max_length=64)
    participant = forms.CharField(max_length=128)

    def clean(self):
        data = super().clean()
        if all(data.get(k) for k in ("site", "device", "participant")) and not access.ever_seen(
                access.Person(data["site"], data["device"], data["participant"])):
            raise ValidationError(self.w["error.unknown_participant"])  # a typo would link nobody, silently
        return data


def _admin_only(request) -> None:
    if access.role(request.user) != "admin":
        raise Http404


def make_account(username: str, role: str, site: str, password: str):
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, password=password)
        Account.objects.create(user=user, role=role, site=site if role == "staff" else "")
    return user


@login_required
def manage(request) -> HttpResponse:
    _admin_only(request)
    w = words(locale_of(request))
    message, account_form, link_form = "", AccountForm(prefix="a", w=w), LinkForm(prefix="l", w=w)
    if request.method == "POST":
        if "a-username" in request.POST:
            account_form = AccountForm(request.POST, prefix="a", w=w)
            if account_form.is_valid():
                d = account_form.cleaned_data
                make_account(d["username"], d["role"], d["site"], d["password"])
                record(request.user.get_username(), "account added", request, f"{d['username']} ({d['role']})")
                return redirect("manage")
        else:
            link_form = LinkForm(request.POST, prefix="l", w=w)
            if link_form.is_valid():
                d = link_form.cleaned_data
                user = get_user_model().objects.filter(username=d["username"], account__role="family").first()
                if user is None:
                    link_form.add_error("username", w["error.no_family"])
                else:
                    FamilyLink.objects.get_or_create(user=user, site=d["site"], device=d["device"],
                                                     participant=d["participant"])
                    record(request.user.get_username(), "link added", request,
                           f"{d['username']} -> {d['site']}/{d['device']}/{d['participant']}")
                    return redirect("manage")
    elif request.method != "GET":
        return HttpResponse(status=405)
    accounts = [{"user": u, "account": getattr(u, "account", None), "links": list(u.links.all()),
                 "role": w.get(f"role_{getattr(getattr(u, 'account', None), 'role', '')}", "")}
                for u in get_user_model().objects.order_by("username").prefetch_related("links")]
    # a run of the same event from one address (a flood of refused logins) is one row: "×300 since …"
    audit = [{"entry": e, "event": " / ".join(w.get(f"event.{event}", event) for event in events),
              "who": (w["command_line"] if e.username == "(command line)" else e.username)
              + (f" +{names - 1}" if names > 1 else ""),
              # an account's role in its entry's detail, "anna (staff)", in the page's words
              "detail": re.sub(r"\((admin|staff|family)\)$", lambda m: f"({w['role_' + m.group(1)]})", e.detail)
              + (f" ×{n} ({first.when:%Y-%m-%d %H:%M:%S} –)" if n > 1 else "")}
             for e, n, first, names, events in latest_grouped()]
    return page(request, "manage.html", accounts=accounts, account_form=account_form, link_form=link_form,
                audit=audit, message=message)
