"""``manage.py backup DIR``: a consistent backup of the database and the media files (groupbuy.backup)."""

from django.core.management.base import BaseCommand, CommandError

from groupbuy import backup


class Command(BaseCommand):
    help = (
        "Back up the database (PostgreSQL: pg_dump -Fc of one snapshot; SQLite: the online backup API) and "
        "MEDIA_ROOT (a tar) into DIR, a new or empty folder, with a manifest of row counts and checksums."
    )

    def add_arguments(self, parser):
        parser.add_argument("dir", help="a new or empty folder for the backup")
        parser.add_argument("--database", default="default", help="the database alias (default: default)")

    def handle(self, *args, **options):
        try:
            manifest = backup.backup(options["dir"], alias=options["database"])
        except backup.BackupError as exc:
            raise CommandError(exc.message) from None
        tables = manifest["tables"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up {len(tables)} tables ({sum(tables.values())} rows, {manifest['engine']} "
                f"{manifest['server_version']}) and {manifest['media_files']} media files into {options['dir']}."
            )
        )
