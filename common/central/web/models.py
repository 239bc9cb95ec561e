"""Who may see whom: an account's role (and site, for staff), a family carer's links to
participants, and the audit log. A participant is known by site, device and key together: two
centers may both have a "kim"."""
from __future__ import annotations

from django.conf import settings
from django.db import models

ROLES = (("admin", "admin: every site, manages accounts and links"),
         ("staff", "staff: one site's participants and devices"),
         ("family", "family carer: the participants linked to them"))


class Account(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account")
    role = models.CharField(max_length=10, choices=ROLES)
    site = models.CharField(max_length=64, blank=True, default="", help_text="staff: the site they work at")
    locale = models.CharField(max_length=2, default="ko", help_text="pages in ko or en")


class FamilyLink(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="links")
    site = models.CharField(max_length=64)
    device = models.CharField(max_length=64)
    participant = models.CharField(max_length=128)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "site", "device", "participant"], name="one_link")]


class AuditEntry(models.Model):
    """A login (or a refused one), a logout, an acknowledgement, an account change."""
    when = models.DateTimeField(auto_now_add=True, db_index=True)
    username = models.CharField(max_length=150)
    event = models.CharField(max_length=40)
    address = models.CharField(max_length=64, blank=True, default="")
    detail = models.CharField(max_length=300, blank=True, default="")
