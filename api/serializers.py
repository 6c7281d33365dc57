"""What the API shows of each resource (read-only), and the bodies its POSTs accept."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aftersales.models import Request
from catalogue.models import SKU, Product
from community.models import Community, Membership, PickupPoint
from community.phones import mask_phone
from fulfillment.models import Parcel
from jielong.models import Campaign, CampaignItem, LedgerEntry, Order, OrderLine
from livestream.models import LiveSession, Reservation

from .inputs import StrictInteger, StrictSerializer, StrictString


class CommunitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Community
        fields = ["id", "brand_id", "name", "slug", "capacity", "join_gate", "is_active", "created_at"]


class PickupPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = PickupPoint
        fields = ["id", "community_id", "name", "address", "opening_hours", "leader_id", "capacity", "is_active"]


class MemberSerializer(serializers.ModelSerializer):
    """A membership of a community: the person's nickname and masked phone (138****5678), never the number."""

    user_id = serializers.IntegerField(read_only=True)
    nickname = serializers.CharField(source="user.nickname", read_only=True)
    masked_phone = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "user_id", "nickname", "masked_phone", "community_id", "role", "status", "joined_at"]

    def get_masked_phone(self, membership: Membership) -> str:
        return mask_phone(membership.user.phone)


class SkuSerializer(serializers.ModelSerializer):
    spec = serializers.JSONField(read_only=True)

    class Meta:
        model = SKU
        fields = ["id", "product_id", "code", "spec", "unit", "list_price_fen", "stock", "zone", "is_active"]


class ProductSerializer(serializers.ModelSerializer):
    skus = SkuSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = ["id", "supplier_id", "name", "description", "storage", "is_active", "skus"]


class LiveSessionSerializer(serializers.ModelSerializer):
    community_ids = serializers.SerializerMethodField()

    class Meta:
        model = LiveSession
        fields = [
            "id",
            "series_id",
            "title",
            "status",
            "scheduled_start",
            "scheduled_end",
            "started_at",
            "ended_at",
            "peak_online",
            "community_ids",
        ]

    def get_community_ids(self, session: LiveSession) -> list[int]:
        return sorted(c.pk for c in session.communities.all())


class ReservationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reservation
        fields = ["id", "session_id", "user_id", "created_at"]


class CampaignItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = CampaignItem
        fields = ["id", "campaign_id", "sku_id", "price_fen", "perk_price_fen", "per_member_limit", "position"]


class CampaignSerializer(serializers.ModelSerializer):
    community_ids = serializers.SerializerMethodField()
    items = CampaignItemSerializer(many=True, read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "title",
            "status",
            "live_session_id",
            "community_ids",
            "group_threshold",
            "perk_limit",
            "opens_at",
            "closes_at",
            "formed_at",
            "joined_count",
            "created_at",
            "items",
        ]

    def get_community_ids(self, campaign: Campaign) -> list[int]:
        return sorted(c.pk for c in campaign.communities.all())


class OrderLineSerializer(serializers.ModelSerializer):
    sku_id = serializers.IntegerField(source="item.sku_id", read_only=True)

    class Meta:
        model = OrderLine
        fields = ["id", "item_id", "sku_id", "quantity", "unit_price_fen"]


class OrderSerializer(serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)
    fulfilment_state = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "campaign_id",
            "seq",
            "user_id",
            "community_id",
            "pickup_point_id",
            "status",
            "payment_status",
            "is_perk",
            "total_fen",
            "refunded_fen",
            "note",
            "created_at",
            "paid_at",
            "updated_at",
            "fulfilment_state",
            "lines",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=Parcel.State.choices, allow_null=True))
    def get_fulfilment_state(self, order: Order) -> str | None:
        parcel = getattr(order, "parcel", None)
        return parcel.state if parcel is not None else None


class ParcelSerializer(serializers.ModelSerializer):
    order_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Parcel
        fields = [
            "order_id",
            "delivery_date",
            "pickup_point_id",
            "state",
            "state_changed_at",
            "shipped_at",
            "at_warehouse_at",
            "out_for_delivery_at",
            "at_pickup_at",
            "picked_up_at",
        ]


class AftersalesRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = Request
        fields = [
            "id",
            "order_id",
            "community_id",
            "user_id",
            "source",
            "reason",
            "ask",
            "asked_fen",
            "status",
            "opened_at",
            "first_answered_at",
            "resolved_at",
            "resolution",
            "resolved_fen",
        ]


class CommissionSerializer(serializers.ModelSerializer):
    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount_fen", "order_id", "order_line_id", "payee_id", "reverses_id", "created_at"]


class FigureSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    numerator = serializers.IntegerField(allow_null=True)
    denominator = serializers.IntegerField(allow_null=True)


class DashboardSerializer(serializers.Serializer):
    since = serializers.DateField()
    until = serializers.DateField()
    community_ids = serializers.ListField(child=serializers.IntegerField())
    figures = serializers.DictField(child=FigureSerializer())


# --- bodies -----------------------------------------------------------------------------------------------


class RefundInput(StrictSerializer):
    amount_fen = StrictInteger(min_value=1, max_value=10**9)
    reason = StrictString(max_length=200)
    order_line_id = StrictInteger(min_value=1, max_value=2**62, required=False)


class RefundSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    amount_fen = serializers.IntegerField()
    refunded_fen = serializers.IntegerField()
    payment_status = serializers.ChoiceField(choices=Order.PaymentStatus.choices)


class PickupVerifyInput(StrictSerializer):
    code = StrictString(max_length=32)
    pickup_point_id = StrictInteger(min_value=1, max_value=2**62)


class PickupVerifySerializer(serializers.Serializer):
    handout_id = serializers.IntegerField()
    pickup_point_id = serializers.IntegerField()
    verified_at = serializers.DateTimeField()
    order_ids = serializers.ListField(child=serializers.IntegerField())


class ResolveInput(StrictSerializer):
    resolution = serializers.ChoiceField(choices=Request.Resolution.choices)
    amount_fen = StrictInteger(min_value=0, max_value=10**9, required=False, default=0)
    note = StrictString(max_length=200, required=False, default="", allow_blank=True)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
