"""The public API's endpoints (``/api/v1/``): thin views over the apps' selectors and services."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.db.models.functions import Now
from django.shortcuts import get_object_or_404
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.models import Request
from aftersales.services import request_resolve
from bi import metrics
from bi.scope import PeriodRefused, ScopeRefused, scope_resolve
from catalogue.models import SKU, Product
from community.models import Community, Membership, PickupPoint
from fulfillment.models import Parcel
from fulfillment.pickup import verify_pickup
from jielong import ledger
from jielong.models import Campaign, CampaignItem, LedgerEntry, Order, OrderLine
from livestream.models import LiveSession, Reservation

from . import schema as _schema  # noqa: F401  (registers the auth schemes)
from . import serializers as s
from .auth import (
    ApiAccess,
    BearerTokenAuthentication,
    CallerRateThrottle,
    CsrfSessionAuthentication,
    caller_actor,
    caller_brand_ids,
)
from .errors import ApiError, exception_handler
from .idempotency import HEADER, idempotent
from .inputs import QuerySerializer, StrictJSONParser
from .paging import ApiCursorPagination

PK_MAX = 2**63 - 1
SYNC_SETTLE_SECONDS = 2


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(s.ErrorSerializer, description=description)


READ_ERRORS = {
    400: _error("Bad query: `unknown_parameter`, `invalid_input`, `wrong_type`, `invalid_cursor`."),
    401: _error("`not_authenticated`, `token_invalid`, `token_expired`, `token_revoked`."),
    403: _error("`forbidden_role` (a member or leader session), `missing_scope`, `forbidden`."),
    405: _error("`method_not_allowed`."),
    406: _error("`not_acceptable`."),
    429: _error("`rate_limited`; see the Retry-After header."),
}
DETAIL_ERRORS = {**READ_ERRORS, 404: _error("`not_found`: no such object in the caller's brands.")}
WRITE_ERRORS = {
    **DETAIL_ERRORS,
    400: _error(
        "`malformed_json`, `unknown_field`, `wrong_type`, `invalid_input`, `idempotency_key_required`, "
        "`idempotency_key_invalid`."
    ),
    403: _error("`forbidden_role`, `missing_scope`, `forbidden`, or a CSRF failure for a session."),
    413: _error("`too_large`."),
    415: _error("`unsupported_media_type`: send application/json."),
    409: _error("The service refused in the current state, with its stable code (e.g. `over_refund`, `unpaid`)."),
    422: _error("`idempotency_key_reused`: this key was used with another request."),
}
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    # What ``idempotency.idempotency_key`` accepts: 1 to 100 printable ASCII characters.
    {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[ -~]{1,100}$"},
    OpenApiParameter.HEADER,
    required=True,
    description="A unique key per operation (1–100 printable ASCII). The same key with the same body returns "
    "the stored answer and does nothing again; with another body it answers 422 `idempotency_key_reused`.",
)


class ApiViewMixin:
    authentication_classes = [BearerTokenAuthentication, CsrfSessionAuthentication]
    permission_classes = [ApiAccess]
    throttle_classes = [CallerRateThrottle]
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]
    scope_family = ""

    def get_exception_handler(self):
        return exception_handler

    def initial(self, request, *args, **kwargs):
        # The console follows its language switch; an integration says which language it reads in its
        # Accept-Language header (the error messages; codes never change).
        if "HTTP_ACCEPT_LANGUAGE" in request.META and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            translation.activate(translation.get_language_from_request(request))
            request.LANGUAGE_CODE = translation.get_language()
        super().initial(request, *args, **kwargs)

    def narrow(self, queryset: QuerySet, path: str) -> QuerySet:
        """Cross-brand isolation: only the caller's brands (a token's one brand)."""
        brands = caller_brand_ids(self.request)
        if brands is None:
            return queryset
        return queryset.filter(**{f"{path}__in": sorted(brands)})


def _pk(value) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        pk = 0
    if not 1 <= pk <= PK_MAX:
        raise ApiError(status_code=404, code="not_found", message=_("Not found."))
    return pk


class ResourceViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A read-only resource of the caller's brands, paged by cursor, with declared filters."""

    pagination_class = ApiCursorPagination
    brand_path = "brand"
    filters_class: type[QuerySerializer] = QuerySerializer
    ordering_fields: tuple[str, ...] = ("id",)
    lookup_value_regex = "[^/]+"

    def base_queryset(self) -> QuerySet:
        raise NotImplementedError

    def apply_filters(self, queryset: QuerySet, filters: dict) -> QuerySet:
        return queryset.filter(**{key: value for key, value in filters.items() if value is not None})

    def get_queryset(self):
        queryset = self.narrow(self.base_queryset(), self.brand_path)
        if self.action == "list":
            filters = self.filters_class(data=self.request.query_params)
            filters.is_valid(raise_exception=True)
            queryset = self.apply_filters(queryset, dict(filters.validated_data))
        return queryset

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=_pk(self.kwargs.get("pk")))


def _id_filter(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=PK_MAX, required=False, **kwargs)


class AwareDateTime(serializers.DateTimeField):
    """An ISO 8601 time with its offset. A time at the very edge of the calendar (year 1 with a positive offset)
    is clamped to the first or last moment a datetime holds, not refused: it is still a valid time."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            edge = datetime.min if parsed.year < 5000 else datetime.max
            return edge.replace(tzinfo=UTC)


ID_PARAMETER = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The object's id.")


def _documented(serializer, filters) -> dict:
    return {
        "list": extend_schema(parameters=[filters], responses={200: serializer(many=True), **READ_ERRORS}),
        "retrieve": extend_schema(parameters=[ID_PARAMETER], responses={200: serializer, **DETAIL_ERRORS}),
    }


# --- communities, members, pickup points --------------------------------------------------------------------------


class CommunityFilters(QuerySerializer):
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)


@extend_schema_view(**_documented(s.CommunitySerializer, CommunityFilters))
class CommunityViewSet(ResourceViewSet):
    """The brand's communities (社群)."""

    scope_family = "communities"
    serializer_class = s.CommunitySerializer
    filters_class = CommunityFilters

    def base_queryset(self):
        return Community.objects.all()


class PickupPointFilters(QuerySerializer):
    community_id = _id_filter()
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)


@extend_schema_view(**_documented(s.PickupPointSerializer, PickupPointFilters))
class PickupPointViewSet(ResourceViewSet):
    """Pickup points (自提点) of the brand's communities."""

    scope_family = "communities"
    serializer_class = s.PickupPointSerializer
    filters_class = PickupPointFilters
    brand_path = "community__brand"

    def base_queryset(self):
        return PickupPoint.objects.all()


class MemberFilters(QuerySerializer):
    community_id = _id_filter()
    role = serializers.ChoiceField(choices=Membership.Role.choices, required=False)
    status = serializers.ChoiceField(choices=Membership.Status.choices, required=False)


@extend_schema_view(**_documented(s.MemberSerializer, MemberFilters))
class MemberViewSet(ResourceViewSet):
    """Memberships of the brand's communities; phones masked."""

    scope_family = "members"
    serializer_class = s.MemberSerializer
    filters_class = MemberFilters
    brand_path = "community__brand"

    def base_queryset(self):
        return Membership.objects.select_related("user")


# --- catalogue ----------------------------------------------------------------------------------------------------


class ProductFilters(QuerySerializer):
    supplier_id = _id_filter()
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)


@extend_schema_view(**_documented(s.ProductSerializer, ProductFilters))
class ProductViewSet(ResourceViewSet):
    """Products with their SKUs and stock."""

    scope_family = "catalogue"
    serializer_class = s.ProductSerializer
    filters_class = ProductFilters
    brand_path = "supplier__brand"

    def base_queryset(self):
        return Product.objects.prefetch_related(Prefetch("skus", queryset=SKU.objects.order_by("pk")))


class SkuFilters(QuerySerializer):
    product_id = _id_filter()
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)
    stock_below = serializers.IntegerField(min_value=0, max_value=2**31, required=False)

    def validate(self, attrs):
        if "stock_below" in attrs:
            attrs["stock__lt"] = attrs.pop("stock_below")
        return attrs


@extend_schema_view(**_documented(s.SkuSerializer, SkuFilters))
class SkuViewSet(ResourceViewSet):
    """SKUs with their stock (``stock_below`` finds the ones running low)."""

    scope_family = "catalogue"
    serializer_class = s.SkuSerializer
    filters_class = SkuFilters
    brand_path = "product__supplier__brand"

    def base_queryset(self):
        return SKU.objects.all()


# --- live ---------------------------------------------------------------------------------------------------------


class LiveSessionFilters(QuerySerializer):
    status = serializers.ChoiceField(choices=LiveSession.Status.choices, required=False)
    series_id = _id_filter()


@extend_schema_view(**_documented(s.LiveSessionSerializer, LiveSessionFilters))
class LiveSessionViewSet(ResourceViewSet):
    scope_family = "live"
    serializer_class = s.LiveSessionSerializer
    filters_class = LiveSessionFilters
    brand_path = "series__brand"

    def base_queryset(self):
        return LiveSession.objects.prefetch_related("communities")


class ReservationFilters(QuerySerializer):
    session_id = _id_filter()


@extend_schema_view(**_documented(s.ReservationSerializer, ReservationFilters))
class ReservationViewSet(ResourceViewSet):
    """Reservations (预约) of the brand's live sessions."""

    scope_family = "live"
    serializer_class = s.ReservationSerializer
    filters_class = ReservationFilters
    brand_path = "session__series__brand"

    def base_queryset(self):
        return Reservation.objects.all()


# --- jielong ------------------------------------------------------------------------------------------------------


class CampaignFilters(QuerySerializer):
    status = serializers.ChoiceField(choices=Campaign.Status.choices, required=False)
    live_session_id = _id_filter()


@extend_schema_view(**_documented(s.CampaignSerializer, CampaignFilters))
class CampaignViewSet(ResourceViewSet):
    """Jielong campaigns (接龙) with their items."""

    scope_family = "campaigns"
    serializer_class = s.CampaignSerializer
    filters_class = CampaignFilters

    def base_queryset(self):
        return Campaign.objects.prefetch_related(
            "communities", Prefetch("items", queryset=CampaignItem.objects.order_by("position", "pk"))
        )


class CampaignItemFilters(QuerySerializer):
    campaign_id = _id_filter()
    sku_id = _id_filter()


@extend_schema_view(**_documented(s.CampaignItemSerializer, CampaignItemFilters))
class CampaignItemViewSet(ResourceViewSet):
    scope_family = "campaigns"
    serializer_class = s.CampaignItemSerializer
    filters_class = CampaignItemFilters
    brand_path = "campaign__brand"

    def base_queryset(self):
        return CampaignItem.objects.all()


def sync_settle_seconds() -> int:
    return getattr(settings, "API_SYNC_SETTLE_SECONDS", SYNC_SETTLE_SECONDS)


class OrderFilters(QuerySerializer):
    updated_after = AwareDateTime(required=False, help_text="Only orders changed after this time (ISO 8601).")
    campaign_id = _id_filter()
    community_id = _id_filter()
    status = serializers.ChoiceField(choices=Order.Status.choices, required=False)
    payment_status = serializers.ChoiceField(choices=Order.PaymentStatus.choices, required=False)

    def validate(self, attrs):
        if "updated_after" in attrs:
            attrs["updated_at__gt"] = attrs.pop("updated_after")
        return attrs


ORDER_SYNC_HELP = (
    "Incremental sync: `?updated_after=<the last updated_at you stored>` (default ordering `updated_at`, then "
    "`id`), follow `next` until it is null, store the largest `updated_at` seen. Only changes older than a "
    "short settle (2 s) are served, so a transaction still committing is not skipped; for safety re-read with "
    "an overlap of one minute and de-duplicate by (`id`, `updated_at`)."
)


@extend_schema_view(
    list=extend_schema(
        description=ORDER_SYNC_HELP,
        parameters=[OrderFilters],
        responses={200: s.OrderSerializer(many=True), **READ_ERRORS},
    ),
    retrieve=extend_schema(parameters=[ID_PARAMETER], responses={200: s.OrderSerializer, **DETAIL_ERRORS}),
)
class OrderViewSet(ResourceViewSet):
    """Orders (jielong entries) with their lines and fulfilment state; refunds."""

    scope_family = "orders"
    serializer_class = s.OrderSerializer
    filters_class = OrderFilters
    brand_path = "campaign__brand"
    ordering_fields = ("updated_at", "id", "created_at")
    default_ordering = "updated_at"

    def base_queryset(self):
        return Order.objects.select_related("parcel").prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("item").order_by("pk"))
        )

    def apply_filters(self, queryset, filters):
        queryset = super().apply_filters(queryset, filters)
        settle = sync_settle_seconds()
        if settle:
            queryset = queryset.filter(updated_at__lte=Now() - timedelta(seconds=settle))
        return queryset

    @extend_schema(
        request=s.RefundInput,
        parameters=[ID_PARAMETER, IDEMPOTENCY_PARAMETER],
        responses={201: s.RefundSerializer, **WRITE_ERRORS},
        description="Refund part or all of what was paid (through the order ledger: never more than paid, per "
        "line). Scope `orders:write`.",
    )
    @action(detail=True, methods=["post"], url_path="refunds")
    def refunds(self, request, pk=None):
        order = self.get_object()
        body = s.RefundInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        actor = caller_actor(request)

        def effect(key: str):
            line = None
            if data.get("order_line_id") is not None:
                line = OrderLine.objects.filter(order=order, pk=data["order_line_id"]).first()
                if line is None:
                    raise ApiError(status_code=404, code="not_found", message=_("That line is not in this order."))
            refund = ledger.refund_issue(
                amount_fen=data["amount_fen"],
                key=f"api-{key}",
                by=actor,
                reason=data["reason"],
                order=None if line else order,
                order_line=line,
            )
            order.refresh_from_db(fields=["refunded_fen", "payment_status"])
            return 201, {
                "order_id": order.pk,
                "amount_fen": refund.amount_fen,
                "refunded_fen": order.refunded_fen,
                "payment_status": order.payment_status,
            }

        return idempotent(request, data, effect)


class ParcelFilters(QuerySerializer):
    updated_after = AwareDateTime(required=False, help_text="Only parcels whose state changed after this time.")
    state = serializers.ChoiceField(choices=Parcel.State.choices, required=False)
    delivery_date = serializers.DateField(required=False)
    pickup_point_id = _id_filter()

    def validate(self, attrs):
        if "updated_after" in attrs:
            attrs["state_changed_at__gt"] = attrs.pop("updated_after")
        return attrs


@extend_schema_view(**_documented(s.ParcelSerializer, ParcelFilters))
class ParcelViewSet(ResourceViewSet):
    """Fulfilment states: one parcel per order (待发货 → 已发货 → 已到仓 → 配送中 → 已到自提点 → 已取货)."""

    scope_family = "fulfilment"
    serializer_class = s.ParcelSerializer
    filters_class = ParcelFilters
    ordering_fields = ("state_changed_at", "order_id")
    default_ordering = "order_id"

    def base_queryset(self):
        return Parcel.objects.all()

    def get_object(self):
        return get_object_or_404(self.get_queryset(), order_id=_pk(self.kwargs.get("pk")))


class AftersalesFilters(QuerySerializer):
    status = serializers.ChoiceField(choices=Request.Status.choices, required=False)
    order_id = _id_filter()
    community_id = _id_filter()


@extend_schema_view(**_documented(s.AftersalesRequestSerializer, AftersalesFilters))
class AftersalesRequestViewSet(ResourceViewSet):
    """After-sales requests (售后); resolve one (a refund moves money)."""

    scope_family = "aftersales"
    serializer_class = s.AftersalesRequestSerializer
    filters_class = AftersalesFilters

    def base_queryset(self):
        return Request.objects.all()

    @extend_schema(
        request=s.ResolveInput,
        parameters=[ID_PARAMETER, IDEMPOTENCY_PARAMETER],
        responses={200: s.AftersalesRequestSerializer, **WRITE_ERRORS},
        description="Resolve a request: refund (`amount_fen`), replacement, store credit, or rejected (with a "
        "`note`). Scope `aftersales:write`.",
    )
    @action(detail=True, methods=["post"], url_path="resolve")
    def resolve(self, request, pk=None):
        target = self.get_object()
        body = s.ResolveInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        actor = caller_actor(request)

        def effect(_key: str):
            resolved = request_resolve(request_id=target.pk, by=actor, **data)
            return 200, s.AftersalesRequestSerializer(resolved).data

        return idempotent(request, data, effect)


class CommissionFilters(QuerySerializer):
    payee_id = _id_filter()
    order_id = _id_filter()
    kind = serializers.ChoiceField(
        choices=[(LedgerEntry.Kind.COMMISSION, "commission"), (LedgerEntry.Kind.CLAWBACK, "clawback")], required=False
    )
    created_after = AwareDateTime(required=False)

    def validate(self, attrs):
        if "created_after" in attrs:
            attrs["created_at__gt"] = attrs.pop("created_after")
        return attrs


@extend_schema_view(**_documented(s.CommissionSerializer, CommissionFilters))
class CommissionViewSet(ResourceViewSet):
    """The fission ledger (分佣): commissions earned on picked-up orders and their clawbacks on refunds."""

    scope_family = "commissions"
    serializer_class = s.CommissionSerializer
    filters_class = CommissionFilters
    brand_path = "order__campaign__brand"

    def base_queryset(self):
        return LedgerEntry.objects.filter(kind__in=[LedgerEntry.Kind.COMMISSION, LedgerEntry.Kind.CLAWBACK])


# --- writes and figures without a collection ---------------------------------------------------------------------


class PickupVerifyView(ApiViewMixin, APIView):
    """核销: hand over what a pickup code covers, at one pickup point, exactly once."""

    scope_family = "fulfilment"

    @extend_schema(
        request=s.PickupVerifyInput,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: s.PickupVerifySerializer, **WRITE_ERRORS},
        description="Verify a pickup code (核销) at a pickup point; a code already verified answers 409 "
        "`already_verified`. Scope `fulfilment:write`.",
    )
    def post(self, request):
        body = s.PickupVerifyInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        point = get_object_or_404(
            self.narrow(PickupPoint.objects.all(), "community__brand"), pk=data["pickup_point_id"]
        )
        actor = caller_actor(request)

        def effect(_key: str):
            handout = verify_pickup(code=data["code"], pickup_point_id=point.pk, by=actor)
            order_ids = sorted(Parcel.objects.of_handout(handout).values_list("order_id", flat=True))
            return 200, {
                "handout_id": handout.pk,
                "pickup_point_id": point.pk,
                "verified_at": serializers.DateTimeField().to_representation(handout.verified_at),
                "order_ids": order_ids,
            }

        return idempotent(request, data, effect)


class DashboardQuery(QuerySerializer):
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)
    community_id = _id_filter()


class DashboardView(ApiViewMixin, APIView):
    """The dashboard's figures for a period, as the operator's board computes them (bi.metrics)."""

    scope_family = "dashboard"

    @extend_schema(
        parameters=[DashboardQuery],
        responses={
            200: s.DashboardSerializer,
            **DETAIL_ERRORS,
            400: _error("`invalid_period` (since after until, or longer than 366 days), `invalid_input`, …"),
        },
        description="The board's figures (bi.metrics) for a period (default: the last 30 days, at most 366), "
        "for the caller's brand or one of its communities. Scope `dashboard:read`.",
    )
    def get(self, request):
        query = DashboardQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        brands = caller_brand_ids(request)
        community_id = query.validated_data.get("community_id")
        if community_id is not None and not self.narrow(Community.objects.filter(pk=community_id), "brand").exists():
            raise ApiError(status_code=404, code="not_found", message=_("Not found."))
        try:
            scope = scope_resolve(viewer=caller_actor(request), **query.validated_data)
        except PeriodRefused as refused:
            # since after until, or more than 366 days: a rule across two parameters the schema cannot state.
            raise ApiError(status_code=400, code="invalid_period", message=refused.message) from None
        except ScopeRefused as refused:
            raise ApiError(status_code=404, code="not_found", message=refused.message) from None
        if brands is not None:
            own = set(Community.objects.filter(brand_id__in=brands).values_list("pk", flat=True))
            communities = own if scope.community_ids is None else own & set(scope.community_ids)
            sessions = set(
                LiveSession.objects.filter(pk__in=scope.session_ids, series__brand_id__in=brands).values_list(
                    "pk", flat=True
                )
            )
            scope = replace(
                scope,
                community_ids=tuple(sorted(communities)),
                session_ids=tuple(pk for pk in scope.session_ids if pk in sessions),
            )
        figures = metrics.figures(scope)
        community_ids = (
            list(scope.community_ids)
            if scope.community_ids is not None
            else list(Community.objects.order_by("pk").values_list("pk", flat=True))
        )
        return Response(
            {
                "since": scope.since.isoformat(),
                "until": scope.until.isoformat(),
                "community_ids": community_ids,
                "figures": {
                    key: {"value": f.value, "numerator": f.numerator, "denominator": f.denominator}
                    for key, f in figures.items()
                },
            }
        )
