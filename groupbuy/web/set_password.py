"""A staff member sets their password from the one-time link an operator made on the team page
(``community.services.staff.password_link``): Django's password-reset confirmation, in the sign-in's look.
A switched-off account's link does not open."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
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
