"""The fragments fission adds to other apps' pages (through ``jielong.hooks`` and ``groupbuy.member_home``)."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from jielong.models import LedgerEntry

from .models import Attribution, HelpSeller


def share_url(request: HttpRequest, seller: HelpSeller) -> str:
    """A help-seller's share link: the campaign page with their token."""
    path = reverse("jielong:member-campaign", args=[seller.campaign_id])
    return request.build_absolute_uri(f"{path}?hs={seller.token}")


def member_order_panel(request: HttpRequest, order) -> str:
    """ "Recommended by …" on the member's order when it came through a help-seller's link."""
    attribution = Attribution.objects.filter(order_id=order.pk).select_related("help_seller__user").first()
    if attribution is None:
        return ""
    return render_to_string("member/fission/_order_panel.html", {"attribution": attribution}, request=request)


def ops_order_summaries(request: HttpRequest, orders: list) -> dict[int, str]:
    found = Attribution.objects.filter(order_id__in=[o.pk for o in orders]).select_related("help_seller__user")
    return {
        a.order_id: format_html(
            '<br><small class="badge" title="{}">{} {}</small>',
            _("Attributed to the last help-seller link opened before the order"),
            _("Via help-seller"),
            a.help_seller.user.display_name,
        )
        for a in found
    }


def ops_campaign_panel(request: HttpRequest, campaign) -> str:
    sellers = HelpSeller.objects.filter(campaign_id=campaign.pk).count()
    attributed = Attribution.objects.filter(order__campaign_id=campaign.pk).count()
    return render_to_string(
        "ops/fission/_campaign_panel.html",
        {"campaign": campaign, "sellers": sellers, "attributed": attributed},
        request=request,
    )


def member_home_section(request: HttpRequest, community_ids: list[int]) -> dict:
    """Shown to help-sellers and to whoever earned a commission (leaders)."""
    user = request.user
    selling = HelpSeller.objects.filter(user=user, is_active=True).count()
    earns = selling or LedgerEntry.objects.filter(payee=user, kind=LedgerEntry.Kind.COMMISSION).exists()
    return {"show": bool(earns), "selling": selling}
