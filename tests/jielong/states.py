"""What a jielong test compares before and after: the campaign's counters, its orders, the SKU's stock."""

from catalogue.models import SKU
from jielong.models import Order, OrderLine


def campaign_state(campaign, item) -> dict:
    campaign.refresh_from_db()
    return {
        "stock": SKU.objects.get(pk=item.sku_id).stock,
        "orders": Order.objects.filter(campaign=campaign).count(),
        "lines": OrderLine.objects.filter(order__campaign=campaign).count(),
        "joined": campaign.joined_count,
        "perk_taken": campaign.perk_taken,
        "next_seq": campaign.next_seq,
        "status": campaign.status,
    }
