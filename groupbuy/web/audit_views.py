"""The operator's audit log page (审计日志): filter, page through, export. The kernel's log knows no brand
rules; this composition root narrows it by ``community.access.staff_brand_ids`` (an operator of a brand sees
that brand's entries only). Exporting is itself recorded."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from community.access import staff_brand_ids
from community.models import Brand
from groupbuy import audit, clock
from groupbuy.access import operator_required
from groupbuy.audit import actions, exports, selectors

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=gettext_lazy("Action"), required=False)
    actor = forms.CharField(label=gettext_lazy("By"), required=False, max_length=100)
    target_type = forms.ChoiceField(label=gettext_lazy("Target type"), required=False)
    target = forms.CharField(label=gettext_lazy("Target"), required=False, max_length=100)
    since = forms.DateField(label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, target_types: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("All actions")), *((c, f"{lbl}") for c, lbl in actions.choices())]
        self.fields["target_type"].choices = [("", _("All targets")), *((t, t) for t in target_types)]
        self.fields["actor"].widget.attrs["placeholder"] = _("name, system, API token…")
        self.fields["target"].widget.attrs["placeholder"] = _("id or name")

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data

    def criteria(self) -> selectors.Filters:
        data = self.cleaned_data
        return selectors.Filters(
            action=data.get("action") or "",
            actor=(data.get("actor") or "").strip(),
            target_type=data.get("target_type") or "",
            target=(data.get("target") or "").strip(),
            since=data.get("since"),
            until=data.get("until"),
        )


def _filtered(request: HttpRequest):
    brand_ids = staff_brand_ids(request.user)
    form = AuditFilterForm(request.GET or None, target_types=selectors.target_types(brand_ids=brand_ids))
    if form.is_bound and not form.is_valid():
        return form, brand_ids, None
    criteria = form.criteria() if form.is_bound else selectors.Filters()
    return form, brand_ids, selectors.entries(brand_ids=brand_ids, filters=criteria)


# A browser's name and system from its user agent, for the page's place column (the full string is its tooltip
# and in the export): the first match of each list wins.
_BROWSERS = (
    ("MicroMessenger", gettext_lazy("WeChat")),
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python", "Python"),
)
_SYSTEMS = (
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def _browser(user_agent: str) -> str:
    if not user_agent:
        return ""
    name = next((str(label) for key, label in _BROWSERS if key in user_agent), "")
    system = next((label for key, label in _SYSTEMS if key in user_agent), "")
    return " · ".join(part for part in (name, system) if part) or user_agent[:24]


def _shown(entry, names: dict[int, str]) -> dict:
    row = {**selectors.describe(entry), "brand": names.get(entry.brand_id, "")}
    if entry.user_agent and row["place"].endswith(entry.user_agent):
        # the address on the page, the browser in short; the whole user agent as its tooltip
        row["place"] = row["place"].removesuffix(entry.user_agent).rstrip(" ·")
        row["browser"] = _browser(entry.user_agent)
    return row


def _brand_names(brand_ids) -> dict[int, str]:
    brands = Brand.objects.all() if brand_ids is None else Brand.objects.filter(pk__in=list(brand_ids))
    return dict(brands.values_list("pk", "name"))


@operator_required
@require_safe
def audit_log(request: HttpRequest) -> HttpResponse:
    form, brand_ids, rows = _filtered(request)
    page = Paginator(rows if rows is not None else [], PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    names = _brand_names(brand_ids)
    return render(
        request,
        "ops/audit/log.html",
        {
            "filters": form,
            "page": page,
            "entries": [_shown(entry, names) for entry in page.object_list],
            "many_brands": len(names) > 1,
            "query": query.urlencode(),
        },
    )


@operator_required
@require_safe
def audit_export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in ("csv", "xlsx"):
        raise Http404
    _form, brand_ids, rows = _filtered(request)
    if rows is None:
        messages.error(request, _("Please correct the filters; nothing was exported."))
        return redirect(f"{reverse('web:audit')}?{request.GET.urlencode()}")
    body = exports.rows(rows, brand_names=_brand_names(brand_ids))
    content = exports.render(body, fmt=fmt)
    filters = {key: value for key, value in request.GET.items() if value and key != "page"}
    brand_id = request.user.brand_id if brand_ids is not None else None
    audit.record(
        "audit.exported",
        actor=request.user,
        target=audit.Target(type="audit.entry", label=_("Audit log")),
        brand_id=brand_id,
        after={"rows": len(body), "filters": filters, "format": fmt},
    )
    types = {"csv": "text/csv; charset=utf-8", "xlsx": exports.XLSX_TYPE}
    response = HttpResponse(content, content_type=types[fmt])
    stamp = clock.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
    return response
