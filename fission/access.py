"""Who may do what with help-sellers and commissions (one helper per question)."""

from __future__ import annotations

from community.models import User


def may_manage_commissions(*, user: User) -> bool:
    """Invite help-sellers, set rules, settle statements: the brand's operators only."""
    return bool(user.is_authenticated and user.is_operator)


def may_see_statement(*, user: User, statement) -> bool:
    """A statement is its payee's and the operators'."""
    return bool(user.is_authenticated and (statement.payee_id == user.pk or user.is_operator))
