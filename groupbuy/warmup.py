"""What a server process would otherwise do on its first requests, done once at start-up.

A fresh process imports every view module and builds the URL resolver on its first request, compiles
each template on its first render, reads each language's catalogue and the static manifest on first
use, and opens its database pool on its first query. That is about 0.3 s of one thread (0.55 s during
a join storm, when the event loop holds the interpreter most of the time), and a worker restarted just
before a live paid it on the members' first page loads. uvicorn runs the ASGI lifespan's start-up
before the worker accepts a connection, so it is paid there instead (``groupbuy.asgi``).

Nothing here is required: a step that fails is logged and the process starts anyway, as it would have
without it (a database that is down is reported by /readyz, not by a server that will not start).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.template import engines
from django.template.backends.django import DjangoTemplates
from django.urls import get_resolver
from django.utils import translation

logger = logging.getLogger(__name__)


def warm_process() -> dict[str, int]:
    """Warm this process; returns what was done (counts), for the log and the tests."""
    done = {"languages": 0, "templates": 0, "databases": 0}
    for step in (_urls_and_languages, _templates, _static_manifest, _databases):
        try:
            step(done)
        except Exception:
            logger.warning("warm-up: %s failed; the first request will do it", step.__name__, exc_info=True)
    logger.info("warm-up done: %s", done)
    return done


def _urls_and_languages(done: dict[str, int]) -> None:
    # The resolver imports every urls and views module; its reverse tables are built per language.
    resolver = get_resolver()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Sign in")  # reads this language's catalogues
            resolver.reverse_dict, resolver.namespace_dict, resolver.app_dict  # noqa: B018
        done["languages"] += 1


def _templates(done: dict[str, int]) -> None:
    # Our own templates only (the cached loader keeps them compiled); the admin's are not a daily page.
    own = Path(settings.BASE_DIR).resolve()
    for engine in engines.all():
        if not isinstance(engine, DjangoTemplates):
            continue
        for directory in engine.template_dirs:
            directory = Path(directory).resolve()
            if not directory.is_relative_to(own) or ".venv" in directory.parts or not directory.is_dir():
                continue
            for root, _dirs, files in os.walk(directory):
                for name in files:
                    engine.get_template(str((Path(root) / name).relative_to(directory)))
                    done["templates"] += 1


def _static_manifest(done: dict[str, int]) -> None:
    from django.contrib.staticfiles.storage import staticfiles_storage

    staticfiles_storage.base_url  # noqa: B018 — constructing the storage reads the manifest


def _databases(done: dict[str, int]) -> None:
    # Opens the pool (DATABASES' "pool" option), which then fills to its min_size.
    for alias in connections:
        connection = connections[alias]
        if connection.connection is not None:
            done["databases"] += 1
            continue  # open already (this thread's): nothing to warm, and not ours to close
        try:
            connection.ensure_connection()
            done["databases"] += 1
        except Exception:
            logger.warning("warm-up: database %r does not answer", alias, exc_info=True)
        finally:
            connection.close()
