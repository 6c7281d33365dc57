"""Rebuild the BI rollups from the raw event stream (``bi.rollups``): clear them and fold every event again, then
refill each member's activity; refill the parcel facts from the parcels (``bi.parcel_days``)."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from bi import parcel_days, rollup_check, rollups


class Command(BaseCommand):
    help = "Rebuild the dashboards' rollups from the raw event stream."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="then compare the rollup-backed tiles with the live queries on the domain tables, and (PostgreSQL) "
            "the rollups with a recomputation from the raw stream",
        )

    def handle(self, *args, check: bool = False, **options):
        started = time.monotonic()
        passed = rollups.rebuild()
        seconds = time.monotonic() - started
        self.stdout.write(f"rollups rebuilt: {passed} events in {seconds:.1f} s")
        refilled = parcel_days.rebuild()
        if refilled:
            self.stdout.write("parcel facts refilled from the parcels")
        if connection.vendor == "postgresql":  # by rollups.rebuild, once after the fold
            self.stdout.write("member activity refilled from the members' rows")
        if not check:
            return
        if connection.vendor == "postgresql":
            if not rollups.matches_recomputation():
                raise CommandError("the rollups differ from the recomputation")
            self.stdout.write("rollups equal the recomputation")
            if rollups.stored_referred_new() != rollups.referred_new_of_stored():
                raise CommandError("the referred new customers differ from the customers and the referred members")
            self.stdout.write("referred new customers equal the customers and the referred members")
            if not parcel_days.matches_recomputation():
                raise CommandError("the parcel facts differ from the parcels")
            self.stdout.write("parcel facts equal the parcels")
            if rollups.member_activity_differences():
                raise CommandError("the member activity differs from the members' rows")
            self.stdout.write("member activity equals the members' rows")
            if rollups.session_aims_differences():
                raise CommandError("the sessions' aimed and watched counts differ from the member aims")
            self.stdout.write("sessions' aimed and watched counts equal the member aims")
        boards = rollup_check.boards()
        found = rollup_check.differences(boards)
        for difference in found:
            self.stderr.write(str(difference))
        if found:
            raise CommandError(f"{len(found)} tile figures from the rollups differ from the live queries")
        self.stdout.write(
            f"rollup tiles equal the live queries: {len(rollup_check.ROLLUP_TILES)} tiles × {len(boards)} boards"
        )
