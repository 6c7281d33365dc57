"""Compile every project .po file to .mo with polib, so a machine without GNU gettext can run the app.

The .mo files are build output (git-ignored); the set-up script runs this command.
"""

from pathlib import Path

import polib
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation.reloader import translation_file_changed


def project_locale_dirs() -> list[Path]:
    """LOCALE_PATHS plus the ``locale`` folder of every app that lives in this project (not site-packages)."""
    base = Path(settings.BASE_DIR).resolve()
    dirs = [Path(p) for p in settings.LOCALE_PATHS]
    for config in apps.get_app_configs():
        app_locale = Path(config.path).resolve() / "locale"
        if app_locale.is_relative_to(base) and ".venv" not in app_locale.parts:
            dirs.append(app_locale)
    seen: list[Path] = []
    for directory in dirs:
        if directory.is_dir() and directory.resolve() not in seen:
            seen.append(directory.resolve())
    return seen


class Command(BaseCommand):
    help = "Compile the project's .po translation files to .mo using polib (no GNU gettext needed)."

    def handle(self, *args, **options) -> None:
        compiled = 0
        for directory in project_locale_dirs():
            for po_path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
                try:
                    catalog = polib.pofile(str(po_path))
                except (OSError, ValueError) as exc:
                    raise CommandError(f"Cannot read {po_path}: {exc}") from exc
                mo_path = po_path.with_suffix(".mo")
                catalog.save_as_mofile(str(mo_path))
                compiled += 1
                self.stdout.write(f"{mo_path} ({catalog.percent_translated()}% translated)")
        # Catalogues this process already loaded predate the new .mo files (bin/dev compiles, then
        # seeds the demo in one process): drop them, as Django's autoreloader does on a change.
        translation_file_changed(sender=None, file_path=Path("django.mo"))
        self.stdout.write(self.style.SUCCESS(f"Compiled {compiled} translation file(s)."))
