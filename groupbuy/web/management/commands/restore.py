"""``manage.py restore DIR``: restore a backup made by ``manage.py backup`` into an empty database (groupbuy.backup)."""

from django.core.management.base import BaseCommand, CommandError

from groupbuy import backup


class Command(BaseCommand):
    help = (
        "Restore the backup in DIR (made by `manage.py backup`) into the database and MEDIA_ROOT. Both must be "
        "empty; --force replaces everything in them. Checks the checksums first and the row counts after."
    )

    def add_arguments(self, parser):
        parser.add_argument("dir", help="the backup folder (it holds manifest.json)")
        parser.add_argument("--force", action="store_true", help="drop every table and media file in the target first")
        parser.add_argument("--database", default="default", help="the database alias (default: default)")

    def handle(self, *args, **options):
        try:
            restored = backup.restore(options["dir"], force=options["force"], alias=options["database"])
        except backup.BackupError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {restored.tables} tables ({restored.rows} rows) and {restored.media_files} media files "
                f"from {options['dir']}; every table's rows match the manifest."
            )
        )
