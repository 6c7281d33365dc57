"""Plant the 源味集 demo story (see ``demo.story``) and print how to sign in."""

import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from demo import brands
from demo import story as demo
from groupbuy.money import format_fen


class Command(BaseCommand):
    help = "Load the 源味集 demo data set (300 members, a past live session and its jielong). Safe to run again."

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        summary = demo.seed_demo()
        elapsed = time.monotonic() - started

        out = self.stdout.write
        out(self.style.SUCCESS(f"源味集 demo data ready in {elapsed:.1f}s"))
        for name, members in summary.communities.items():
            out(f"  {name}: {members} active members")
        out(
            f"  last session 《{demo.SERIES_TITLE}》{summary.past_session}: {summary.reservations} reservations, "
            f"{summary.viewers} viewers, {summary.average_watch_minutes} min watched on average"
        )
        out(
            f"  its jielong: {summary.orders} orders ({summary.perk_orders} first-N perk), "
            f"GMV {format_fen(summary.gmv_fen)}"
        )
        start = timezone.localtime(summary.upcoming_start).strftime("%Y-%m-%d %H:%M") if summary.upcoming_start else ""
        out(f"  next session {summary.upcoming_session} at {start}: {summary.upcoming_reservations} reservations")
        out(f"  draft jielong waiting for it: {summary.draft_campaign}")
        out(f"  analytics events: {summary.events}")
        if summary.fulfilment:
            out(f"  its delivery day: {summary.fulfilment}")
        if summary.aftercare:
            out(f"  after the delivery: {summary.aftercare}")
        for note in summary.notes:
            out(self.style.WARNING(f"  {note}"))

        member_phone = demo.DEMO_MEMBER_PHONE.removeprefix("+86")
        out("")
        out("Demo logins:")
        out(f"  operator   {demo.OPERATOR_USERNAME} / {demo.DEMO_PASSWORD}   {demo.STAFF_LOGIN_URL}")
        out(
            f"  operator   {brands.OPERATOR_USERNAME} / {demo.DEMO_PASSWORD}   {demo.STAFF_LOGIN_URL}"
            f"   ({brands.BRAND_NAME} only)"
        )
        out(f"  host       {demo.HOST_USERNAME} / {demo.DEMO_PASSWORD}   {demo.STAFF_LOGIN_URL}")
        out(f"  assistant  {demo.ASSISTANT_USERNAME} / {demo.DEMO_PASSWORD}   {demo.STAFF_LOGIN_URL}")
        out(
            f"  member     {member_phone} ({demo.DEMO_MEMBER_NICKNAME})   {demo.MEMBER_LOGIN_URL}"
            "   (local mode shows the one-time code on the page)"
        )
