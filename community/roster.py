"""Roster import (导入群成员): bring an existing WeChat group into a community from a spreadsheet.

Three steps, each a function here:

1. ``roster_upload_stage`` reads the uploaded xlsx or CSV (UTF-8, UTF-8 with BOM, UTF-16 or GBK/GB18030,
   as Chinese Excel saves it), finds the header row (昵称 / 手机号 / 自提点 / 邀请人, or the English names)
   and keeps the parsed rows in a private staging file named by a random token. A malformed file is
   refused with :class:`RosterFileInvalid`; nothing is written anywhere.
2. ``roster_plan`` is the dry run (试导入): it checks every row against the database and says what
   confirming would do with it — new member, existing user merged by phone, already a member (left
   unchanged), duplicate of an earlier row, or bad with its reasons. It writes nothing.
3. ``roster_import_confirm`` imports the valid rows in one transaction. The staging file is the
   "only once" guard: confirming renames it away first (an atomic rename, so a double submit or a second
   tab finds it gone), and a failed import puts it back.

Decisions worth knowing:

* Existing users are matched by phone and never duplicated; their nickname is filled in only when empty.
* A member who left (or was turned down) is re-activated: they are in the WeChat group again. Someone an
  operator *removed* is refused — re-adding them is a deliberate decision, taken on their member page.
* The inviter (phone or nickname) must be an active member of the community or a valid row above; the
  referral edge is the ``Membership.invited_by`` the invitation flow writes too.
* Imported members publish ``community.member_joined`` with ``source="import"``, and the import as a
  whole ``community.roster_imported`` with its counts.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import os
import re
import secrets
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from groupbuy import clock, events
from groupbuy.errors import DomainError

from . import events as community_events
from .access import may_manage_community
from .models import Community, Membership, PickupPoint, User
from .phones import mask_phone, normalize_phone

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
# Staged imports older than this are refused at confirm and swept away by the next upload.
STAGE_TTL_SECONDS = 24 * 60 * 60
# The header may sit under a title line or two ("XX群成员名单"), as WeChat-group exports often do.
HEADER_SCAN_ROWS = 10
MAX_COLUMNS = 50
NICKNAME_MAX_LENGTH = User._meta.get_field("nickname").max_length
TEMPLATE_HEADERS = ("昵称", "手机号", "自提点", "邀请人")

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class RosterFileInvalid(DomainError):
    """The uploaded file cannot be read as a roster at all."""


class RosterImportRefused(DomainError):
    """The import as a whole is refused (no permission, closed community, already confirmed, expired)."""


# --- Reading the file -----------------------------------------------------------------------------------------

NICKNAME, PHONE, PICKUP, INVITER = "nickname", "phone", "pickup", "inviter"

_HEADER_ALIASES = {
    NICKNAME: {"昵称", "微信昵称", "群昵称", "群名片", "姓名", "名字", "称呼", "nickname", "name", "wechatnickname", "wechatname"},
    PHONE: {
        "手机号", "手机", "手机号码", "电话", "电话号码", "联系电话", "联系方式",
        "phone", "mobile", "phonenumber", "mobilenumber", "mobilephone", "tel", "telephone",
    },
    PICKUP: {"自提点", "提货点", "自提点名称", "取货点", "pickuppoint", "pickup", "pickuppointname"},
    INVITER: {"邀请人", "推荐人", "邀请者", "介绍人", "inviter", "invitedby", "referrer", "referredby"},
}  # fmt: skip


@dataclass(frozen=True)
class RosterRow:
    """One data row as found in the file; ``number`` is the row number the operator sees in Excel."""

    number: int
    nickname: str
    phone: str
    pickup: str = ""
    inviter: str = ""


def _header_key(value: str) -> str:
    text = re.sub(r"[（(\[【].*?[)）\]】]", "", value.strip().lower())  # "邀请人（选填）", "phone (required)"
    return re.sub(r"[\s_\-*:：/.]", "", text)


def _columns(cells: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = _header_key(cell)
        for column, aliases in _HEADER_ALIASES.items():
            if key in aliases and column not in found:
                found[column] = index
    return found


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel keeps 13812345678 as a number
    return str(value).strip()


def _decode_csv(content: bytes) -> str:
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    else:
        # gb18030 is a superset of GBK and GB2312: what Chinese Excel writes for "CSV (逗号分隔)".
        encodings = ["utf-8-sig", "gb18030"]
    for encoding in encodings:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise RosterFileInvalid(
        _("The CSV file's text encoding is not recognised. Save it as “CSV UTF-8” and upload it again."),
        code="encoding",
    )


def _csv_lines(content: bytes):
    text = _decode_csv(content)
    # Judge the delimiter on the first lines together: a title line above the header may hold none.
    head = "\n".join(text.split("\n", HEADER_SCAN_ROWS)[:HEADER_SCAN_ROWS])
    delimiter = max([",", "\t", ";", "，"], key=head.count)
    if head.count(delimiter) == 0:
        delimiter = ","
    try:
        for cells in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            yield [cell.strip() for cell in cells[:MAX_COLUMNS]]
    except csv.Error:
        raise RosterFileInvalid(
            _("The CSV file is damaged and could not be read. Export it again and upload the new file."),
            code="csv",
        ) from None


def _xlsx_lines(content: bytes):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises zip, XML and key errors alike for a damaged workbook
        raise RosterFileInvalid(
            _("The Excel file could not be opened. Save it again as .xlsx and upload the new file."),
            code="xlsx",
        ) from None
    try:
        sheet = workbook.active or workbook.worksheets[0]
        for values in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            yield [_cell_text(value) for value in values]
    except (zipfile.BadZipFile, KeyError, ValueError, IndexError):
        raise RosterFileInvalid(
            _("The Excel file could not be opened. Save it again as .xlsx and upload the new file."),
            code="xlsx",
        ) from None
    finally:
        workbook.close()


def _lines(*, content: bytes, filename: str):
    name = (filename or "").lower()
    if content.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise RosterFileInvalid(
            _("Old Excel files (.xls) cannot be read. In Excel choose “Save as” → .xlsx or CSV, then upload again."),
            code="xls",
        )
    if content.startswith(b"PK\x03\x04"):
        return _xlsx_lines(content)
    if name.endswith(".xlsx"):
        raise RosterFileInvalid(
            _("The Excel file could not be opened. Save it again as .xlsx and upload the new file."), code="xlsx"
        )
    if not name.endswith((".csv", ".txt")):
        raise RosterFileInvalid(_("Upload an Excel (.xlsx) or CSV file."), code="type")
    return _csv_lines(content)


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index].strip() if index is not None and index < len(cells) else ""


def roster_parse(*, content: bytes, filename: str) -> list[RosterRow]:
    """Read the rows of a roster file, or raise :class:`RosterFileInvalid` saying what is wrong with it."""
    if len(content) > MAX_FILE_BYTES:
        raise RosterFileInvalid(
            _("The file is larger than %(size)s MB. Split it into smaller files.") % {"size": MAX_FILE_BYTES // 2**20},
            code="too_large",
        )
    if not content.strip():
        raise RosterFileInvalid(_("The file is empty."), code="empty")
    columns: dict[str, int] | None = None
    rows: list[RosterRow] = []
    blank_run = 0
    for number, cells in enumerate(_lines(content=content, filename=filename), start=1):
        if columns is None:
            if number > HEADER_SCAN_ROWS:
                break
            found = _columns(cells)
            if PHONE in found:
                if NICKNAME not in found:
                    raise RosterFileInvalid(
                        _("The header row has no nickname column (昵称). Use the template's column names."),
                        code="no_nickname_column",
                    )
                columns = found
            continue
        row = RosterRow(number, *(_cell(cells, columns.get(column)) for column in (NICKNAME, PHONE, PICKUP, INVITER)))
        if not (row.nickname or row.phone or row.pickup or row.inviter):
            # A sheet formatted down to row 1,048,576 is all blank rows; stop instead of reading them all.
            blank_run += 1
            if blank_run > MAX_ROWS:
                break
            continue
        blank_run = 0
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise RosterFileInvalid(
                _("The file has more than %(max)s member rows. Split it into smaller files.") % {"max": MAX_ROWS},
                code="too_many_rows",
            )
    if columns is None:
        raise RosterFileInvalid(
            _("No header row was found. The first row must name the columns: 昵称, 手机号, 自提点, 邀请人."),
            code="no_header",
        )
    if not rows:
        raise RosterFileInvalid(_("The file has no member rows under its header."), code="no_rows")
    return rows


def roster_template_csv() -> bytes:
    """The CSV template (UTF-8 with BOM, so Excel shows the Chinese headers correctly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TEMPLATE_HEADERS)
    writer.writerow(["王阿姨", "13812345678", "阳光花园自提点", ""])
    writer.writerow(["小李", "13987654321", "阳光花园自提点", "13812345678"])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def roster_template_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "成员名单"
    sheet.append(list(TEMPLATE_HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.append(["王阿姨", "13812345678", "阳光花园自提点", ""])
    sheet.append(["小李", "13987654321", "阳光花园自提点", "13812345678"])
    for letter, width in zip("ABCD", (18, 16, 20, 18), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2, min_col=2, max_col=2):
        row[0].number_format = "@"  # keep phone numbers as text
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- The dry run ---------------------------------------------------------------------------------------------


class Outcome(models.TextChoices):
    NEW = "new", gettext_lazy("New member")
    MERGED = "merged", gettext_lazy("Existing user")
    ALREADY = "already", gettext_lazy("Already a member")
    DUPLICATE = "duplicate", gettext_lazy("Duplicate")
    INVALID = "invalid", gettext_lazy("Bad row")


IMPORTABLE = (Outcome.NEW, Outcome.MERGED)


@dataclass(frozen=True)
class PlannedRow:
    """What confirming will do with one row, and why not when it will not."""

    number: int
    nickname: str
    phone: str  # E.164 when valid, else as typed
    outcome: str
    reasons: tuple[str, ...] = ()
    note: str = ""
    user_id: int | None = None
    former_membership_id: int | None = None
    pickup_point: PickupPoint | None = None
    # ("user", pk) for an existing member, ("phone", e164) for a row imported above.
    inviter_key: tuple[str, object] | None = None
    inviter_label: str = ""

    @property
    def is_importable(self) -> bool:
        return self.outcome in IMPORTABLE

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone) if self.phone.startswith("+") else _mask_raw(self.phone)

    @property
    def outcome_label(self) -> str:
        return Outcome(self.outcome).label

    @property
    def reason(self) -> str:
        return "；".join(self.reasons)


@dataclass
class RosterPlan:
    community: Community
    rows: list[PlannedRow]
    active_before: int
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.counts = {outcome.value: 0 for outcome in Outcome}
        for row in self.rows:
            self.counts[row.outcome] += 1

    @property
    def importable(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.is_importable]

    @property
    def problems(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.outcome in (Outcome.INVALID, Outcome.DUPLICATE)]

    @property
    def unchanged(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.outcome == Outcome.ALREADY]

    @property
    def summary(self) -> dict[str, int]:
        return {
            "new_members": self.counts[Outcome.NEW],
            "merged_users": self.counts[Outcome.MERGED],
            "already_members": self.counts[Outcome.ALREADY],
            "duplicates": self.counts[Outcome.DUPLICATE],
            "bad_rows": self.counts[Outcome.INVALID],
        }


def _mask_raw(text: str) -> str:
    """Mask what was typed in the phone column even when it is not a valid number (it may be a typo of one)."""
    if len(text) >= 8:
        return f"{text[:3]}****{text[-4:]}"
    return text


def _normalized(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except ValidationError:
        return ""


class _InviterIndex:
    """Who a row may name as inviter: active members of the community and the importable rows above it."""

    def __init__(self, *, community: Community, rows: list[RosterRow]) -> None:
        texts = {row.inviter for row in rows if row.inviter}
        phones = {p for p in (_normalized(t) for t in texts) if p}
        active = Membership.objects.filter(community=community, status=Membership.Status.ACTIVE)
        self.member_by_phone = dict(active.filter(user__phone__in=phones).values_list("user__phone", "user_id"))
        self.members_by_nickname: dict[str, set] = defaultdict(set)
        for nickname, user_id in active.filter(user__nickname__in=texts).values_list("user__nickname", "user_id"):
            self.members_by_nickname[nickname].add(("user", user_id))
        self.row_by_phone: dict[str, tuple] = {}
        self.rows_by_nickname: dict[str, set] = defaultdict(set)

    def add_row(self, *, phone: str, nickname: str, key: tuple) -> None:
        self.row_by_phone[phone] = key
        if nickname:
            self.rows_by_nickname[nickname].add(key)

    def find(self, text: str) -> tuple[tuple | None, str]:
        """The inviter's key, or None and the reason it was not found."""
        phone = _normalized(text)
        if phone:
            if phone in self.member_by_phone:
                return ("user", self.member_by_phone[phone]), ""
            if phone in self.row_by_phone:
                return self.row_by_phone[phone], ""
            return None, _("Inviter %(inviter)s is not a member of this community or a row above.") % {
                "inviter": mask_phone(phone)
            }
        matches = self.members_by_nickname.get(text, set()) | self.rows_by_nickname.get(text, set())
        if len(matches) == 1:
            return next(iter(matches)), ""
        if matches:
            return None, _("Several members are called “%(inviter)s”; give the inviter's phone number instead.") % {
                "inviter": text
            }
        return None, _("Inviter “%(inviter)s” is not a member of this community or a row above.") % {"inviter": text}


def roster_plan(*, community: Community, rows: list[RosterRow]) -> RosterPlan:
    """The dry run: what importing ``rows`` into ``community`` would do, row by row. Writes nothing.

    Rows are judged in file order, so the capacity runs out at a definite row and an inviter may be a
    row further up.
    """
    phones = {p for p in (_normalized(row.phone) for row in rows) if p}
    users = {user.phone: user for user in User.objects.filter(phone__in=phones)}
    memberships = {
        m.user_id: m for m in Membership.objects.filter(community=community, user_id__in=[u.pk for u in users.values()])
    }
    points = {point.name: point for point in PickupPoint.objects.filter(community=community)}
    active_before = Membership.objects.filter(community=community, status=Membership.Status.ACTIVE).count()
    inviters = _InviterIndex(community=community, rows=rows)
    first_row_for_phone: dict[str, int] = {}
    planned: list[PlannedRow] = []
    places_taken = 0
    for row in rows:
        phone = _normalized(row.phone)
        if phone and phone in first_row_for_phone:
            first = first_row_for_phone[phone]
            planned.append(
                PlannedRow(
                    number=row.number,
                    nickname=row.nickname,
                    phone=phone,
                    outcome=Outcome.DUPLICATE,
                    reasons=(
                        _("Same phone as row %(row)s; merged into that row, only row %(row)s is imported.")
                        % {"row": first},
                    ),
                )
            )
            continue
        if phone:
            first_row_for_phone[phone] = row.number
        reasons: list[str] = []
        user = users.get(phone) if phone else None
        former = memberships.get(user.pk) if user else None
        note = ""
        if not row.phone:
            reasons.append(_("The phone number is missing."))
        elif not phone:
            reasons.append(_("“%(phone)s” is not a valid mobile phone number.") % {"phone": _mask_raw(row.phone)})
        if len(row.nickname) > NICKNAME_MAX_LENGTH:
            reasons.append(_("The nickname is longer than %(max)s characters.") % {"max": NICKNAME_MAX_LENGTH})
        if user is not None:
            if user.role != User.Role.MEMBER:
                reasons.append(_("This phone number belongs to a staff account."))
            elif not user.is_active:
                reasons.append(_("This person's account is disabled."))
        if former is not None and not reasons:
            if former.status in (Membership.Status.ACTIVE, Membership.Status.PENDING):
                inviters.add_row(phone=phone, nickname=row.nickname, key=("user", user.pk))
                planned.append(
                    PlannedRow(
                        number=row.number,
                        nickname=user.display_name,
                        phone=phone,
                        outcome=Outcome.ALREADY,
                        note=_("Already in this community; left unchanged."),
                        user_id=user.pk,
                    )
                )
                continue
            if former.status == Membership.Status.REMOVED:
                reasons.append(
                    _("This person was removed from the community; add them back on their member page if you mean to.")
                )
            else:
                note = _("Had left the community; will be re-activated.")
        if not row.nickname and (user is None or not user.nickname):
            reasons.append(_("The nickname is missing."))
        point = None
        if row.pickup:
            point = points.get(row.pickup)
            if point is None:
                reasons.append(_("This community has no pickup point called “%(name)s”.") % {"name": row.pickup})
            elif not point.is_active:
                reasons.append(_("The pickup point “%(name)s” is closed.") % {"name": row.pickup})
                point = None
        inviter_key = None
        if row.inviter:
            if phone and _normalized(row.inviter) == phone:
                reasons.append(_("A member cannot be their own inviter."))
            else:
                inviter_key, problem = inviters.find(row.inviter)
                if problem:
                    reasons.append(problem)
        if not reasons and not community.is_active:
            reasons.append(_("This community is closed and takes no new members."))
        if not reasons and active_before + places_taken >= community.capacity:
            reasons.append(
                _("The community is full (capacity %(capacity)s members).") % {"capacity": community.capacity}
            )
        if reasons:
            planned.append(
                PlannedRow(
                    number=row.number,
                    nickname=row.nickname,
                    phone=phone or row.phone,
                    outcome=Outcome.INVALID,
                    reasons=tuple(reasons),
                )
            )
            continue
        places_taken += 1
        inviters.add_row(phone=phone, nickname=row.nickname, key=("phone", phone))
        planned.append(
            PlannedRow(
                number=row.number,
                nickname=row.nickname or user.nickname,
                phone=phone,
                outcome=Outcome.MERGED if user is not None else Outcome.NEW,
                note=note or (_("Matched an existing user by phone.") if user is not None else ""),
                user_id=user.pk if user else None,
                former_membership_id=former.pk if former else None,
                pickup_point=point,
                inviter_key=inviter_key,
                inviter_label=mask_phone(_normalized(row.inviter)) or row.inviter if row.inviter else "",
            )
        )
    return RosterPlan(community=community, rows=planned, active_before=active_before)


# --- Staging between the dry run and the confirmation ----------------------------------------------------------


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


# --- Confirming ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterImportResult:
    new_members: int
    merged_users: int
    already_members: int
    duplicates: int
    bad_rows: int
    membership_ids: tuple[int, ...] = ()

    @property
    def imported(self) -> int:
        return self.new_members + self.merged_users


def _claim(token: str) -> Path:
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


def roster_import_confirm(*, by: User, community: Community, token: str) -> RosterImportResult:
    """Import the valid rows of staged import ``token``, once.

    The rows are judged again under the community's row lock (the same lock joins take), so the
    capacity and "already a member" are current; only importable rows are written, all in one
    transaction. A second confirmation of the same token is refused and changes nothing.
    """
    staged = roster_staged(by=by, community=community, token=token)
    claimed = _claim(token)
    try:
        with transaction.atomic():
            locked = Community.objects.select_for_update().get(pk=community.pk)
            if not locked.is_active:
                raise RosterImportRefused(_("This community is closed and takes no new members."), code="closed")
            plan = roster_plan(community=locked, rows=staged.rows)
            membership_ids = _apply(plan=plan, community=locked)
            summary = plan.summary
            events.publish(
                community_events.RosterImported(
                    community_id=locked.pk,
                    imported_by_id=by.pk,
                    filename=staged.filename,
                    **summary,
                )
            )
    except IntegrityError:
        os.rename(claimed, _stage_path(token))
        raise RosterImportRefused(
            _("Someone joined or signed up while importing. Nothing was imported; please confirm again."),
            code="conflict",
        ) from None
    except BaseException:
        os.rename(claimed, _stage_path(token))
        raise
    with contextlib.suppress(FileNotFoundError):
        claimed.unlink()
    return RosterImportResult(membership_ids=tuple(membership_ids), **summary)


def _apply(*, plan: RosterPlan, community: Community) -> list[int]:
    now = clock.now()
    rows = plan.importable
    new_users = []
    for row in rows:
        if row.user_id is None:
            user = User(phone=row.phone, nickname=row.nickname, role=User.Role.MEMBER)
            user.set_unusable_password()
            new_users.append(user)
    with transaction.atomic():  # a savepoint, so a clash maps to IntegrityError cleanly
        User.objects.bulk_create(new_users)
    user_by_phone = {user.phone: user.pk for user in new_users}
    existing = User.objects.in_bulk([row.user_id for row in rows if row.user_id is not None])
    for row in rows:
        if row.user_id is not None:
            user_by_phone[row.phone] = row.user_id
            user = existing[row.user_id]
            if not user.nickname and row.nickname:
                user.nickname = row.nickname
                user.save(update_fields=["nickname"])

    def inviter_id(row: PlannedRow) -> int | None:
        if row.inviter_key is None:
            return None
        kind, value = row.inviter_key
        return value if kind == "user" else user_by_phone[value]

    formers = Membership.objects.select_for_update().in_bulk(
        [row.former_membership_id for row in rows if row.former_membership_id]
    )
    created = []
    touched: list[Membership] = []
    for row in rows:
        if row.former_membership_id:
            membership = formers[row.former_membership_id]
            membership.status = Membership.Status.ACTIVE
            membership.role = Membership.Role.MEMBER
            membership.joined_at = now
            # First-touch attribution: an earlier introduction stays the one that counts.
            if membership.invited_by_id is None:
                membership.invited_by_id = inviter_id(row)
            if row.pickup_point is not None:
                membership.default_pickup_point = row.pickup_point
            membership.save(update_fields=["status", "role", "joined_at", "invited_by", "default_pickup_point"])
            touched.append(membership)
        else:
            created.append(
                Membership(
                    user_id=user_by_phone[row.phone],
                    community=community,
                    role=Membership.Role.MEMBER,
                    status=Membership.Status.ACTIVE,
                    invited_by_id=inviter_id(row),
                    default_pickup_point=row.pickup_point,
                    joined_at=now,
                )
            )
    with transaction.atomic():
        Membership.objects.bulk_create(created)
    for membership in [*touched, *created]:
        events.publish(
            community_events.MemberJoined(
                membership_id=membership.pk,
                user_id=membership.user_id,
                community_id=community.pk,
                invited_by_id=membership.invited_by_id,
                source="import",
            )
        )
    return [membership.pk for membership in [*touched, *created]]
