"""Member sign-in page: phone number, then the one-time code (手机号 + 验证码)."""

from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy

from groupbuy.clientip import client_ip
from groupbuy.errors import DomainError

from .. import selectors, services
from ..models import User
from ..phones import mask_phone, normalize_phone


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=gettext_lazy("Mobile number"),
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "138 1234 5678"}),
    )


class SendForm(PhoneForm):
    """The phone number, and the answer to a challenge when the network has asked for many codes."""

    challenge_token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    challenge_answer = forms.CharField(
        label=gettext_lazy("Answer"),
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class CodeForm(PhoneForm):
    code = forms.CharField(
        label=gettext_lazy("Verification code"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}),
    )
    consent = forms.BooleanField(
        label=gettext_lazy("I have read and agree to the privacy notice"),
        error_messages={"required": gettext_lazy("Please accept the privacy notice to continue.")},
    )


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def member_login(request: HttpRequest) -> HttpResponse:
    """Sign in with a phone number and a one-time code (手机号 + 验证码). Step 1 sends, step 2 verifies."""
    if request.user.is_authenticated and request.user.role == User.Role.MEMBER:
        return redirect(_next_url(request) or "community:member-home")
    context = {"next": _next_url(request), "step": "phone", "form": PhoneForm(), "dev_code": ""}
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "verify":
            form = CodeForm(request.POST)
            context.update(step="code", form=form)
            if form.is_valid():
                try:
                    user = services.phone_code_verify(
                        phone=form.cleaned_data["phone"],
                        code=form.cleaned_data["code"],
                        consent=form.cleaned_data["consent"],
                    )
                except DomainError as exc:
                    form.add_error("code", exc.message)
                else:
                    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                    return redirect(context["next"] or "community:member-home")
        else:
            form = SendForm(request.POST)
            context["form"] = form
            if form.is_valid():
                try:
                    sent = services.phone_code_send(
                        phone=form.cleaned_data["phone"],
                        ip=client_ip(request),
                        challenge_token=form.cleaned_data["challenge_token"],
                        challenge_answer=form.cleaned_data["challenge_answer"],
                    )
                except services.ChallengeRequired as exc:
                    form.add_error("challenge_answer", exc.message)
                    context.update(step="phone", challenge=_new_challenge(form))
                except services.TooManyRequests as exc:
                    phone = _e164(form.cleaned_data["phone"])
                    if exc.code == "throttled" and phone:
                        # A code went out less than a minute ago: the member may hold it, so the code box stays.
                        context.update(
                            step="code",
                            form=_code_form_with_phone_error(phone, exc.message),
                            resend_wait=selectors.phone_code_resend_wait(phone=phone),
                        )
                    else:
                        form.add_error("phone", exc.message)
                except DomainError as exc:
                    form.add_error("phone", exc.message)
                else:
                    context.update(step="code", form=CodeForm(initial={"phone": sent.phone}), sent_to=sent.phone)
                    if getattr(settings, "SMS_SHOW_CODE", False):
                        context["dev_code"] = sent.code
    if context["step"] == "code":
        phone = context["form"]["phone"].value() or ""
        context["masked_phone"] = _masked(phone)
    return render(request, "member/login.html", context)


def _new_challenge(form: SendForm) -> services.Challenge:
    """A fresh question for the form (an answered token is used up, right or wrong)."""
    challenge = services.signin_challenge_new()
    form.data = form.data.copy()
    form.data["challenge_token"] = challenge.token
    form.data["challenge_answer"] = ""
    return challenge


def _e164(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except ValidationError:
        return ""


def _code_form_with_phone_error(phone: str, message: str) -> CodeForm:
    """The code step's form for ``phone``, unbound (no 'required' errors yet) but carrying ``message``."""
    form = CodeForm(initial={"phone": phone})
    form.cleaned_data = {}
    form.add_error("phone", message)
    return form


def _masked(phone: str) -> str:
    return mask_phone(phone) if phone.startswith("+") else ""
