"""The console's 开放平台 pages: integration tokens (made, shown once, revoked) and the API's docs."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from community.access import staff_brands
from groupbuy import clock
from groupbuy.access import operator_required

from .scopes import SCOPES, scope_label
from .tokens import MAX_DAYS, TokenRefused, token_create, token_revoke, tokens_for_staff


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=64, help_text=gettext_lazy("e.g. ERP sync"))
    brand = forms.ModelChoiceField(label=gettext_lazy("Brand"), queryset=None, empty_label=None)
    scopes = forms.MultipleChoiceField(label=gettext_lazy("Scopes"), widget=forms.CheckboxSelectMultiple)
    expires_in_days = forms.IntegerField(
        label=gettext_lazy("Expires after (days)"),
        min_value=1,
        max_value=MAX_DAYS,
        initial=90,
        required=False,
        help_text=gettext_lazy("Empty: never expires."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = staff_brands(user)
        self.fields["scopes"].choices = [(scope, scope_label(scope)) for scope in SCOPES]


@operator_required
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None, user=request.user)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = token_create(
                brand=form.cleaned_data["brand"],
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                by=request.user,
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
        except TokenRefused as refused:
            form.add_error(None, refused.message)
        else:
            form = TokenForm(user=request.user)
    rows = list(tokens_for_staff(request.user)[:200])
    for row in rows:
        row.scope_labels = [scope_label(scope) for scope in row.scopes]
    return render(
        request,
        "ops/integrations/tokens.html",
        {"form": form, "created": created, "rows": rows, "tab": "tokens", "now": clock.now()},
        status=201 if created else 200,
    )


@operator_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = token_revoke(token_id=token_id, by=request.user)
    except TokenRefused as refused:
        if refused.code == "not_found":
            raise Http404(refused.message) from None  # another brand's token: as in the rest of the console
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Token %(name)s revoked: its next call is refused.") % {"name": token.name})
    return redirect(reverse("api:ops-tokens"))


@operator_required
@require_safe
def docs(request: HttpRequest) -> HttpResponse:
    return render(request, "ops/integrations/docs.html", {"tab": "docs"})


@require_safe
def docs_standalone(request: HttpRequest) -> HttpResponse:
    """Swagger UI from the sidecar's static files (no CDN), started by static/js/api-docs.js (no inline script)."""
    return render(request, "api/docs.html", {})
