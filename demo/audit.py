"""The demo's audit log (issue 16 item 8): besides what the story's services record on their own (refunds,
the flag, the help-sellers and their commission), 林峰 looked up 王姐's full number on her member page
yesterday morning from the office laptop — told through the real service, at that time, from that place."""

from __future__ import annotations

from datetime import datetime

from cdp import member360
from community.models import User
from groupbuy.audit import place
from groupbuy.audit.models import Entry
from groupbuy.stream import envelope

OFFICE_IP = "203.0.113.24"  # documentation range (RFC 5737): no real office
OFFICE_BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
)


def seed_audit(*, operator: User, member: User, at: datetime) -> bool:
    """Idempotent: the look-up is told once per moment (a re-run the same day finds it)."""
    if not member.phone or Entry.objects.filter(action="cdp.phone_unmasked", actor=operator, at=at).exists():
        return False
    with place.place(ip=OFFICE_IP, user_agent=OFFICE_BROWSER), envelope.context(occurred_at=at):
        member360.phone_unmask(viewer=operator, member=member, now=at)
    return True
