"""Rebuild what is derived from the raw event stream (item 8 of issue 14), or only check the stream.

manage.py stream_rebuild                 # every registered consumer: clear, replay from id 0
manage.py stream_rebuild --consumer analytics.identity
manage.py stream_rebuild --verify        # counts, no duplicate ids, cursors within the stream
"""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Max

from groupbuy.stream import relay
from groupbuy.stream.models import Cursor, Event


class Command(BaseCommand):
    help = "Rebuild the tables derived from the event stream by replaying it, or verify the stream."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--consumer", action="append", default=[], help="only this consumer (repeatable)")
        parser.add_argument("--verify", action="store_true", help="check the stream and the cursors; change nothing")

    def handle(self, *args, consumer: list[str], verify: bool, **options) -> None:
        if verify:
            self._verify()
            return
        names = consumer or sorted(relay.consumers)
        unknown = [name for name in names if name not in relay.consumers]
        if unknown:
            raise CommandError(
                f"unknown consumer(s): {', '.join(unknown)}; known: {', '.join(sorted(relay.consumers))}"
            )
        for name in names:
            handled = relay.rebuild(name)
            self.stdout.write(f"{name}: replayed {handled} events")

    def _verify(self) -> None:
        stats = Event.objects.aggregate(n=Count("pk"), last=Max("pk"))
        duplicates = Event.objects.values("uuid").annotate(n=Count("pk")).filter(n__gt=1).count()
        self.stdout.write(f"events: {stats['n']}, last id: {stats['last'] or 0}, duplicate ids: {duplicates}")
        problems = duplicates
        for cursor in Cursor.objects.order_by("name"):
            behind = Event.objects.filter(pk__gt=cursor.position).count()
            self.stdout.write(f"consumer {cursor.name}: at {cursor.position}, {behind} events after it")
            if cursor.position > (stats["last"] or 0):
                problems += 1
                self.stdout.write(self.style.ERROR(f"  {cursor.name} is past the end of the stream"))
        if problems:
            raise CommandError("the stream has problems (see above)")
        self.stdout.write(self.style.SUCCESS("stream OK"))
