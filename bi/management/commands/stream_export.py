"""Export the event stream for ClickHouse: one JSONEachRow file per day (``day=YYYY-MM-DD/events.jsonl``)."""

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bi import stream_export


class Command(BaseCommand):
    help = "Export the event stream as JSONEachRow files partitioned by day, for ClickHouse."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="directory of the partitions")
        parser.add_argument("--since", type=date.fromisoformat, help="first day (local), default: the first event's")
        parser.add_argument("--until", type=date.fromisoformat, help="last day (local), default: today")
        parser.add_argument("--format", choices=["jsonl"], default="jsonl", help="JSONEachRow (one object a line)")

    def handle(self, *args, out: str, since=None, until=None, **options):
        if since and until and since > until:
            raise CommandError("--since is after --until: nothing was exported.")
        written = stream_export.export(Path(out), since=since, until=until)
        total = sum(written.values())
        self.stdout.write(f"{total} events in {len(written)} day partitions under {out}")
