"""Staff passwords: set from the one-time link an operator made on the team page
(``community.services.staff.password_link``; Django's password-reset confirmation, in the sign-in's look; a
switched-off account's link does not open), and changed by the staff member later."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.urls import reverse_lazy
from django.utils.translation import gettext as _


class SetPasswordView(auth_views.PasswordResetConfirmView):
    template_name = "web/set_password.html"
    success_url = reverse_lazy("web:staff-login")
    reset_url_token = "set"  # the placeholder in the URL once the token is in the session

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is set: sign in with your username and the new password."))
        return response


class ChangePasswordView(auth_views.PasswordChangeView):
    """Staff change their own password (members have none: they sign in with a code). The session stays signed
    in; every other session of the account ends (its hash covers the password)."""

    template_name = "web/change_password.html"
    success_url = reverse_lazy("web:home")

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_usable_password():
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Password changed; your other devices are signed out."))
        return response
