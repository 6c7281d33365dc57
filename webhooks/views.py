"""The operator's webhooks pages (集成 · Webhooks): endpoints, their secret (shown once), a test event, the
delivery log with each delivery's attempts, and replay. Thin: parse, call one service, redirect or show
the refusal. Every lookup goes through ``selectors`` (the operator's brands only: another brand's endpoint
answers 404)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from community import access
from groupbuy.access import operator_required

from . import catalog, selectors, services
from .forms import EndpointForm
from .models import Delivery, Endpoint

LOG_PAGE_SIZE = 50
_SECRET_KEY = "webhooks-secret-{}"


def _endpoint(request: HttpRequest, pk: int) -> Endpoint:
    return get_object_or_404(selectors.endpoints(viewer=request.user), pk=pk)


def _show_secret_once(request: HttpRequest, endpoint: Endpoint, secret: str) -> None:
    request.session[_SECRET_KEY.format(endpoint.pk)] = secret


def _add_error(form: EndpointForm, exc: services.WebhookInvalid) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@operator_required
def ops_endpoints(request: HttpRequest) -> HttpResponse:
    endpoints = list(selectors.endpoints(viewer=request.user))
    for endpoint in endpoints:
        endpoint.type_labels = [catalog.label(t) for t in endpoint.event_types]
    return render(
        request,
        "ops/webhooks/endpoints.html",
        {"endpoints": endpoints, "alerts": selectors.auto_disabled(viewer=request.user)},
    )


@operator_required
def ops_endpoint_new(request: HttpRequest) -> HttpResponse:
    brands = list(access.staff_brands(request.user))
    form = EndpointForm(request.POST or None, brands=brands)
    if request.method == "POST" and form.is_valid():
        brand = form.chosen_brand()
        if brand is None:
            form.add_error(None, _("Choose a brand."))
        else:
            try:
                endpoint = services.endpoint_create(by=request.user, brand=brand, data=form.to_input())
            except services.WebhookInvalid as exc:
                _add_error(form, exc)
            else:
                _show_secret_once(request, endpoint, endpoint.secret)
                messages.success(request, _("Endpoint added. Copy its signing secret now: it is shown only once."))
                return redirect("webhooks:ops-endpoint", pk=endpoint.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "ops/webhooks/endpoint_new.html", {"form": form, "brands": brands}, status=status)


@operator_required
def ops_endpoint(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    if request.method == "POST":
        form = EndpointForm(request.POST)
        if form.is_valid():
            try:
                services.endpoint_update(by=request.user, endpoint=endpoint, data=form.to_input())
            except services.WebhookInvalid as exc:
                _add_error(form, exc)
            else:
                messages.success(request, _("Endpoint saved."))
                return redirect("webhooks:ops-endpoint", pk=endpoint.pk)
    else:
        form = EndpointForm(
            initial={"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types}
        )
    recent = list(selectors.deliveries(viewer=request.user, endpoint_id=endpoint.pk)[:10])
    for delivery in recent:
        delivery.type_label = catalog.label(delivery.event_type)
    context = {
        "endpoint": endpoint,
        "form": form,
        "secret": request.session.pop(_SECRET_KEY.format(endpoint.pk), None),
        "recent": recent,
        "alerts": [endpoint] if endpoint.is_auto_disabled else [],
    }
    return render(request, "ops/webhooks/endpoint.html", context, status=400 if form.errors else 200)


def _endpoint_action(request: HttpRequest, pk: int, action, done: str) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    try:
        action(by=request.user, endpoint=endpoint)
    except services.WebhookInvalid as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("webhooks:ops-endpoint", pk=endpoint.pk)


@require_POST
@operator_required
def ops_endpoint_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    try:
        secret = services.endpoint_rotate_secret(by=request.user, endpoint=endpoint)
    except services.WebhookInvalid as exc:
        messages.error(request, exc.message)
    else:
        _show_secret_once(request, endpoint, secret)
        messages.success(
            request, _("New secret made. The old one keeps signing for 24 hours, so switch your receiver before then.")
        )
    return redirect("webhooks:ops-endpoint", pk=endpoint.pk)


@require_POST
@operator_required
def ops_endpoint_test(request: HttpRequest, pk: int) -> HttpResponse:
    return _endpoint_action(
        request, pk, services.endpoint_send_test, _("Test event queued: it appears in the log within seconds.")
    )


@require_POST
@operator_required
def ops_endpoint_enable(request: HttpRequest, pk: int) -> HttpResponse:
    return _endpoint_action(request, pk, services.endpoint_enable, _("Endpoint enabled."))


@require_POST
@operator_required
def ops_endpoint_disable(request: HttpRequest, pk: int) -> HttpResponse:
    return _endpoint_action(request, pk, services.endpoint_disable, _("Endpoint disabled: nothing is sent to it."))


@require_POST
@operator_required
def ops_endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    if request.POST.get("confirm") != "1":
        messages.error(request, _("Tick the box to confirm the deletion."))
        return redirect("webhooks:ops-endpoint", pk=endpoint.pk)
    try:
        services.endpoint_delete(by=request.user, endpoint=endpoint)
    except services.WebhookInvalid as exc:
        messages.error(request, exc.message)
        return redirect("webhooks:ops-endpoint", pk=endpoint.pk)
    messages.success(request, _("Endpoint deleted, with its delivery log."))
    return redirect("webhooks:ops-endpoints")


@operator_required
def ops_deliveries(request: HttpRequest) -> HttpResponse:
    endpoints = list(selectors.endpoints(viewer=request.user))
    wanted = request.GET.get("endpoint", "")
    endpoint = next((e for e in endpoints if str(e.pk) == wanted), None)
    status = request.GET.get("status", "")
    event_type = request.GET.get("type", "")
    event_id = request.GET.get("event", "").strip().lower()[:36]
    found = selectors.deliveries(
        viewer=request.user,
        endpoint_id=endpoint.pk if endpoint else None,
        status=status,
        event_type=event_type if event_type in catalog.BY_NAME or event_type == catalog.TEST_TYPE else "",
        event_id=event_id if _is_uuid_part(event_id) else "",
    )
    page = Paginator(found, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    for delivery in page:
        delivery.type_label = catalog.label(delivery.event_type)
    filters = {"endpoint": wanted, "status": status, "type": event_type, "event": event_id}
    return render(
        request,
        "ops/webhooks/deliveries.html",
        {
            "page": page,
            "endpoints": endpoints,
            "filters": filters,
            "query": urlencode({k: v for k, v in filters.items() if v}),
            "statuses": Delivery.Status.choices,
            "types": [*catalog.choices(), (catalog.TEST_TYPE, catalog.label(catalog.TEST_TYPE))],
        },
    )


def _is_uuid_part(value: str) -> bool:
    return bool(value) and all(c in "0123456789abcdef-" for c in value)


@operator_required
def ops_delivery(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(selectors.deliveries(viewer=request.user), pk=pk)
    delivery.type_label = catalog.label(delivery.event_type)
    return render(
        request,
        "ops/webhooks/delivery.html",
        {
            "delivery": delivery,
            "attempts": list(delivery.attempt_log.order_by("-number")),
            "body": _pretty(delivery.body),
            "log_url": f"{reverse('webhooks:ops-deliveries')}?{urlencode({'endpoint': delivery.endpoint_id})}",
        },
    )


@require_POST
@operator_required
def ops_delivery_replay(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(selectors.deliveries(viewer=request.user), pk=pk)
    try:
        services.delivery_replay(by=request.user, delivery=delivery)
    except services.WebhookInvalid as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Replay queued: the same event, with the same event id, is sent again now."))
    return redirect("webhooks:ops-delivery", pk=delivery.pk)


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), ensure_ascii=False, indent=2, sort_keys=True)
    except ValueError:
        return body
