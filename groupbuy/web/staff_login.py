"""Staff sign-in (operators, hosts, assistants) with the same protection as the member sign-in: wrong
passwords are counted per username and per address, and too many lock the username for a while — even
the right password is refused until the lock ends, so guessing has a hard ceiling."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from community import throttle
from groupbuy.clientip import client_ip


def failure_limit() -> throttle.Limit:
    """This many wrong passwords for one username within the window lock it."""
    count, seconds = getattr(settings, "SIGNIN_STAFF_FAILURES", (5, 15 * 60))
    return throttle.Limit(name="staff_failures", count=count, seconds=seconds)


def address_limit() -> throttle.Limit:
    """Wrong passwords from one address, across usernames (a guesser trying many accounts)."""
    count, seconds = getattr(settings, "SIGNIN_STAFF_ADDRESS_FAILURES", (30, 60 * 60))
    return throttle.Limit(name="staff_address_failures", count=count, seconds=seconds)


def _lock_subject(username: str) -> str:
    return f"staff:{username}"


class ThrottledAuthenticationForm(AuthenticationForm):
    def clean(self):
        username = (self.cleaned_data.get("username") or "").strip().lower()
        address = client_ip(self.request) if self.request is not None else ""
        if (username and throttle.is_locked(_lock_subject(username))) or throttle.is_exhausted(
            address_limit(), address
        ):
            minutes = throttle.lockout_seconds() // 60
            raise ValidationError(
                _("Too many wrong passwords. Try again in %(minutes)s minutes.") % {"minutes": minutes},
                code="locked",
            )
        try:
            return super().clean()
        except ValidationError as exc:
            if exc.code == "invalid_login":
                if username and throttle.hit(failure_limit(), username) >= failure_limit().count:
                    throttle.lock(_lock_subject(username))
                throttle.hit(address_limit(), address)
            raise


class StaffLoginView(auth_views.LoginView):
    template_name = "web/staff_login.html"
    authentication_form = ThrottledAuthenticationForm
