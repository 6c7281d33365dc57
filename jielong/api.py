"""JSON API for other clients: the campaign snapshot and joining. Same services as the pages."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from . import access, selectors, services
from .join import rules


class JoinLineSerializer(serializers.Serializer):
    """Parses a line's numbers; ``rules.check_input`` judges them (in ``services.order_join``)."""

    item = serializers.IntegerField()
    quantity = serializers.IntegerField(error_messages={"invalid": rules.BAD_QUANTITY_MESSAGE})


class NoteField(serializers.CharField):
    """Parses the note as text; ``rules.check_input`` judges it (length, characters), so the API words
    a bad note as the page and the ASGI fast path do."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.validators = []  # DRF's own NUL and surrogate checks: judged by the rules instead


class JoinSerializer(serializers.Serializer):
    items = JoinLineSerializer(many=True, allow_empty=True)
    pickup_point = serializers.IntegerField(required=False, allow_null=True)
    note = NoteField(required=False, allow_blank=True)


def order_payload(order) -> dict:
    return {
        "id": order.pk,
        "campaign": order.campaign_id,
        "seq": order.seq,
        "status": order.status,
        "payment_status": order.payment_status,
        "is_perk": order.is_perk,
        "total_fen": order.total_fen,
    }


def error_status(exc: services.DomainError) -> int:
    """The HTTP status of a refused join (the page, the API and the ASGI fast path agree)."""
    if isinstance(exc, (services.AlreadyJoined, services.InsufficientStock)):
        return status.HTTP_409_CONFLICT
    return status.HTTP_404_NOT_FOUND if exc.code == "not_found" else status.HTTP_400_BAD_REQUEST


@api_view(["GET"])
def campaign_snapshot(request, campaign_id: int) -> Response:
    """The campaign's snapshot, for whoever may see the campaign (``access.campaign_access``)."""
    try:
        access.campaign_access(campaign_id=campaign_id, user=request.user)
    except services.DomainError as exc:
        not_found = isinstance(exc, access.CampaignNotFound)
        return Response({"code": exc.code, "detail": exc.message}, status=404 if not_found else 403)
    snapshot = selectors.campaign_snapshot(campaign_id=campaign_id)
    if snapshot is None:
        return Response({"code": "not_found", "detail": _("This jielong does not exist.")}, status=404)
    return Response(snapshot)


@api_view(["POST"])
def campaign_join(request, campaign_id: int) -> Response:
    """POST {"items": [{"item": id, "quantity": n}], "pickup_point": id, "note": ""}.

    Send an ``Idempotency-Key`` header: a retry with the same key returns the same order (200).
    """
    serializer = JoinSerializer(data=request.data)
    if not serializer.is_valid():
        return Response({"code": "invalid", "detail": serializer.errors}, status=400)
    data = serializer.validated_data
    try:
        result = services.order_join(
            campaign_id=campaign_id,
            user=request.user,
            quantities=rules.quantities_from(data["items"]),
            pickup_point_id=data.get("pickup_point"),
            note=data.get("note", ""),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
    except services.DomainError as exc:
        return Response({"code": exc.code, "detail": exc.message}, status=error_status(exc))
    # The campaign version lets a client match this join to the snapshots it receives live.
    payload = order_payload(result.order) | {"campaign_version": result.campaign_version}
    return Response(payload, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
