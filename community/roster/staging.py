"""Staging between the dry run and the confirmation: the parsed rows wait in a private file named by a token.

The file is also the "only once" guard of the confirmation: :func:`claim` renames it away atomically, so a
double submit or a second tab finds it gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from groupbuy.errors import DomainError

from ..access import may_manage_community
from ..models import Community, User
from .parse import RosterRow, roster_parse

# Staged imports older than this are refused at confirm and swept away by the next upload.
STAGE_TTL_SECONDS = 24 * 60 * 60

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class RosterImportRefused(DomainError):
    """The import as a whole is refused (no permission, closed community, already confirmed, expired)."""


@dataclass(frozen=True)
class StagedRoster:
    token: str
    community_id: int
    user_id: int
    filename: str
    created_at: float
    rows: list[RosterRow]

    @property
    def is_expired(self) -> bool:
        return time.time() - self.created_at > STAGE_TTL_SECONDS


def _stage_dir() -> Path:
    # Outside MEDIA_ROOT on purpose: these files hold members' phone numbers and are never served.
    directory = Path(getattr(settings, "ROSTER_IMPORT_DIR", None) or Path(settings.DATA_DIR) / "roster-imports")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _stage_path(token: str, *, claimed: bool = False) -> Path:
    if not _TOKEN_RE.match(token or ""):
        raise RosterImportRefused(_("This import was not found. Upload the file again."), code="unknown")
    return _stage_dir() / (f"{token}.claimed" if claimed else f"{token}.json")


def _check_may_import(*, by: User, community: Community) -> None:
    if not may_manage_community(user=by, community=community):
        raise RosterImportRefused(_("Only the community's leaders and operators can import members."), code="forbidden")


def _sweep_expired(directory: Path) -> None:
    cutoff = time.time() - STAGE_TTL_SECONDS
    for path in [*directory.glob("*.json"), *directory.glob("*.claimed"), *directory.glob("*.tmp")]:
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def roster_upload_stage(*, by: User, community: Community, content: bytes, filename: str) -> StagedRoster:
    """Parse an uploaded roster and keep its rows for the dry run and the confirmation.

    Refused (nothing kept) when ``by`` may not manage ``community`` or the file is malformed.
    """
    _check_may_import(by=by, community=community)
    rows = roster_parse(content=content, filename=filename)
    staged = StagedRoster(
        token=secrets.token_urlsafe(24),
        community_id=community.pk,
        user_id=by.pk,
        filename=os.path.basename(filename or "")[:120],
        created_at=time.time(),
        rows=rows,
    )
    directory = _stage_dir()
    _sweep_expired(directory)
    data = {
        "community_id": staged.community_id,
        "user_id": staged.user_id,
        "filename": staged.filename,
        "created_at": staged.created_at,
        "rows": [[r.number, r.nickname, r.phone, r.pickup, r.inviter] for r in rows],
    }
    temporary = directory / f"{staged.token}.tmp"
    temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    temporary.replace(_stage_path(staged.token))
    return staged


def _read_staged(path: Path, token: str) -> StagedRoster:
    data = json.loads(path.read_text(encoding="utf-8"))
    return StagedRoster(
        token=token,
        community_id=data["community_id"],
        user_id=data["user_id"],
        filename=data["filename"],
        created_at=data["created_at"],
        rows=[RosterRow(*values) for values in data["rows"]],
    )


def _check_staged(staged: StagedRoster, *, by: User, community: Community) -> None:
    if staged.community_id != community.pk or staged.user_id != by.pk:
        raise RosterImportRefused(_("This import was not found. Upload the file again."), code="unknown")
    if staged.is_expired:
        raise RosterImportRefused(_("This import has expired. Upload the file again."), code="expired")


def roster_staged(*, by: User, community: Community, token: str) -> StagedRoster:
    """The staged import ``token`` of ``by`` for ``community``, for the dry-run page."""
    _check_may_import(by=by, community=community)
    path = _stage_path(token)
    try:
        staged = _read_staged(path, token)
    except FileNotFoundError:
        if _stage_path(token, claimed=True).exists():
            raise RosterImportRefused(_("This import is being confirmed right now."), code="in_progress") from None
        raise RosterImportRefused(
            _("This import was not found or has already been confirmed. Upload the file again."), code="unknown"
        ) from None
    _check_staged(staged, by=by, community=community)
    return staged


def roster_import_discard(*, by: User, community: Community, token: str) -> None:
    """Throw a staged import away (the operator chose "cancel")."""
    roster_staged(by=by, community=community, token=token)
    with contextlib.suppress(FileNotFoundError):
        _stage_path(token).unlink()


def claim(token: str) -> Path:
    """Take the staged file for this request alone: the rename succeeds for exactly one caller."""
    claimed = _stage_path(token, claimed=True)
    try:
        os.rename(_stage_path(token), claimed)
    except FileNotFoundError:
        raise RosterImportRefused(
            _("This import has already been confirmed. Upload the file again to import more members."),
            code="already_confirmed",
        ) from None
    return claimed


def unclaim(token: str) -> None:
    """Put a claimed staged file back (the import failed), so it can be confirmed again."""
    os.rename(_stage_path(token, claimed=True), _stage_path(token))
