"""The console's team page (团队): the brand's operators, hosts and assistants — add, change, switch off, and
a one-time link for each to set their password. Thin: the rules are ``services.staff``."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from groupbuy.access import operator_required

from .access import staff_brands
from .models import User
from .services import staff

ROLE_CHOICES = [(role.value, role.label) for role in User.STAFF_ROLES]
FIELD_OF = {"nickname": "nickname", "username": "username", "username_taken": "username", "role": "role"}


class StaffForm(forms.Form):
    nickname = forms.CharField(
        label=gettext_lazy("Full name"), max_length=64, help_text=gettext_lazy("e.g. 农场主老李")
    )
    username = forms.CharField(
        label=gettext_lazy("Username"), max_length=32, help_text=gettext_lazy("What they sign in with, e.g. laoli")
    )
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=ROLE_CHOICES, initial=User.Role.HOST)
    brand = forms.ModelChoiceField(label=gettext_lazy("Brand"), queryset=None, empty_label=None)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = staff_brands(user)


class ChangeForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=ROLE_CHOICES)
    is_active = forms.BooleanField(label=gettext_lazy("Can sign in"), required=False)


def _link(request: HttpRequest, user_id: int) -> str:
    return request.build_absolute_uri(staff.password_link(by=request.user, user_id=user_id))


@operator_required
def team(request: HttpRequest) -> HttpResponse:
    form = StaffForm(request.POST or None, user=request.user)
    added, link = None, ""
    if request.method == "POST" and form.is_valid():
        try:
            added = staff.staff_create(by=request.user, data=staff.StaffInput(**form.cleaned_data))
            link = _link(request, added.pk)
        except staff.StaffRefused as refused:
            form.add_error(FIELD_OF.get(refused.code), refused.message)
        else:
            form = StaffForm(user=request.user)
    return render(
        request,
        "ops/team/list.html",
        {"form": form, "added": added, "link": link, "rows": staff.team_for_staff(request.user)},
        status=201 if added else 400 if request.method == "POST" else 200,
    )


@operator_required
def team_member(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(staff.team_for_staff(request.user), pk=pk)
    form = ChangeForm(request.POST or None, initial={"role": member.role, "is_active": member.is_active})
    if request.method == "POST" and form.is_valid():
        try:
            staff.staff_update(
                by=request.user,
                user_id=member.pk,
                role=form.cleaned_data["role"],
                is_active=form.cleaned_data["is_active"],
            )
        except staff.StaffRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, _("Saved."))
            return redirect(reverse("community:ops-team-member", args=[member.pk]))
    return render(
        request,
        "ops/team/member.html",
        {"member": member, "form": form, "is_self": member.pk == request.user.pk},
        status=400 if request.method == "POST" else 200,
    )


@operator_required
@require_POST
def team_member_link(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(staff.team_for_staff(request.user), pk=pk)
    try:
        link = _link(request, member.pk)
    except staff.StaffRefused as refused:
        messages.error(request, refused.message)
        return redirect(reverse("community:ops-team-member", args=[member.pk]))
    return render(
        request,
        "ops/team/member.html",
        {
            "member": member,
            "form": ChangeForm(initial={"role": member.role, "is_active": member.is_active}),
            "link": link,
        },
    )
