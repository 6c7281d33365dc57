"""Roster import (导入群成员): bring an existing WeChat group into a community from a spreadsheet.

Three steps, each a function of its own sub-module (``parse``, ``plan``, ``staging``, ``confirm``),
all importable from here:

1. ``roster_upload_stage`` reads the uploaded xlsx or CSV (UTF-8, UTF-8 with BOM, UTF-16 or GBK/GB18030,
   as Chinese Excel saves it), finds the header row (昵称 / 手机号 / 自提点 / 邀请人, or the English names)
   and keeps the parsed rows in a private staging file named by a random token. A malformed file is
   refused with :class:`RosterFileInvalid`; nothing is written anywhere.
2. ``roster_plan`` is the dry run (试导入): it checks every row against the database and says what
   confirming would do with it — new member, former member re-activated, already a member (left
   unchanged), duplicate of an earlier row, or bad with its reasons. It writes nothing, and it shows
   nothing about accounts outside the community (``plan``'s docstring).
3. ``roster_import_confirm`` imports the valid rows in one transaction. The staging file is the
   "only once" guard: confirming renames it away first (an atomic rename, so a double submit or a second
   tab finds it gone), and a failed import puts it back.

Decisions worth knowing:

* Existing users are matched by phone and never duplicated; their nickname is filled in only when empty.
  Whether a number has an account elsewhere is never shown; staff and disabled accounts outside the
  community are skipped at confirm, counted with the skipped rows.
* A member who left (or was turned down) is re-activated: they are in the WeChat group again. Someone an
  operator *removed* is refused — re-adding them is a deliberate decision, taken on their member page.
* The inviter (phone or nickname) must be an active member of the community or a valid row above; the
  referral edge is the ``Membership.invited_by`` the invitation flow writes too.
* Imported members publish ``MemberJoined`` with ``source="import"``, and the import as a
  whole ``RosterImported`` with its counts (``community.events``).
"""

from .confirm import (
    RosterImportResult,
    roster_import_confirm,
)
from .parse import (
    HEADER_SCAN_ROWS,
    MAX_COLUMNS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    TEMPLATE_HEADERS,
    RosterFileInvalid,
    RosterRow,
    roster_parse,
    roster_template_csv,
    roster_template_xlsx,
)
from .plan import (
    IMPORTABLE,
    NICKNAME_MAX_LENGTH,
    Outcome,
    PlannedRow,
    RosterPlan,
    roster_plan,
)
from .staging import (
    STAGE_TTL_SECONDS,
    RosterImportRefused,
    StagedRoster,
    roster_import_discard,
    roster_staged,
    roster_upload_stage,
)

__all__ = [
    "HEADER_SCAN_ROWS",
    "IMPORTABLE",
    "MAX_COLUMNS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "NICKNAME_MAX_LENGTH",
    "STAGE_TTL_SECONDS",
    "TEMPLATE_HEADERS",
    "Outcome",
    "PlannedRow",
    "RosterFileInvalid",
    "RosterImportRefused",
    "RosterImportResult",
    "RosterPlan",
    "RosterRow",
    "StagedRoster",
    "roster_import_confirm",
    "roster_import_discard",
    "roster_parse",
    "roster_plan",
    "roster_staged",
    "roster_template_csv",
    "roster_template_xlsx",
    "roster_upload_stage",
]
