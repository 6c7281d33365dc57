"""Rebuild the BI rollups from the raw event stream (``bi.rollups``): clear them and fold every event again."""

import time

from django.core.management.base import BaseCommand, CommandError

from bi import rollups


class Command(BaseCommand):
    help = "Rebuild the dashboards' rollups from the raw event stream."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="then compare them with a recomputation (PostgreSQL only)"
        )

    def handle(self, *args, check: bool = False, **options):
        started = time.monotonic()
        passed = rollups.rebuild()
        seconds = time.monotonic() - started
        self.stdout.write(f"rollups rebuilt: {passed} events in {seconds:.1f} s")
        if check:
            if not rollups.matches_recomputation():
                raise CommandError("the rollups differ from the recomputation")
            self.stdout.write("rollups equal the recomputation")
