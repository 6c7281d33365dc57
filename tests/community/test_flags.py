"""The refund-abuse blacklist's own rules (community.services.person_flag / person_unflag, access.is_flagged):
operators only, a reason each time, one active flag per person and brand, every flag and unflag logged and
published, a flag holds in its own brand only. What a flag refuses is tested where it is refused
(tests/jielong/join/test_flagged.py, tests/aftersales/test_flags_ops.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from community import services
from community.access import is_flagged
from community.events import PersonFlagged, PersonUnflagged
from community.models import Flag, FlagLogEntry
from groupbuy import clock
from groupbuy.errors import DomainError
from tests import factories as f
from tests.heard import heard as listening

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    with listening(PersonFlagged, PersonUnflagged) as got:
        yield got


def _log():
    return list(FlagLogEntry.objects.order_by("pk").values_list("action", "user_id", "actor_id", "reason"))


def test_an_operator_flags_and_unflags_and_both_are_logged_and_published(heard, django_capture_on_commit_callbacks):
    operator, other_operator, person = f.operator(), f.operator(), f.member()
    brand = f.brand()
    start = clock.now()

    with time_machine.travel(start, tick=False), django_capture_on_commit_callbacks(execute=True):
        flag = services.person_flag(
            by=operator, brand=brand, user=person, reason="  三次以未收到为由退款  ", evidence={"requests": 3}
        )
    assert is_flagged(user=person, brand=brand)
    assert (flag.reason, flag.evidence, flag.flagged_by, flag.flagged_at) == (
        "三次以未收到为由退款",
        {"requests": 3},
        operator,
        start,
    )

    with time_machine.travel(start + timedelta(days=2), tick=False), django_capture_on_commit_callbacks(execute=True):
        lifted = services.person_unflag(by=other_operator, flag=flag, reason="核实为快递问题")

    assert not is_flagged(user=person, brand=brand)
    assert (lifted.lifted_by, lifted.lifted_at, lifted.lift_reason) == (
        other_operator,
        start + timedelta(days=2),
        "核实为快递问题",
    )
    assert _log() == [
        ("flagged", person.pk, operator.pk, "三次以未收到为由退款"),
        ("unflagged", person.pk, other_operator.pk, "核实为快递问题"),
    ]
    assert heard == [
        PersonFlagged(flag_id=flag.pk, brand_id=brand.pk, user_id=person.pk, flagged_by_id=operator.pk),
        PersonUnflagged(flag_id=flag.pk, brand_id=brand.pk, user_id=person.pk, unflagged_by_id=other_operator.pk),
    ]


def test_a_person_can_be_flagged_again_after_a_lift_and_the_history_keeps_both():
    operator, person, brand = f.operator(), f.member(), f.brand()
    first = services.person_flag(by=operator, brand=brand, user=person, reason="一")
    services.person_unflag(by=operator, flag=first, reason="二")

    second = services.person_flag(by=operator, brand=brand, user=person, reason="三")

    assert [(flag.pk, flag.is_active) for flag in Flag.objects.order_by("pk")] == [
        (first.pk, False),
        (second.pk, True),
    ]
    assert [action for action, *_rest in _log()] == ["flagged", "unflagged", "flagged"]


@pytest.mark.parametrize(
    ("who", "reason", "code"),
    [
        ("leader", "多次退款", "not_operator"),
        ("member", "多次退款", "not_operator"),
        ("host", "多次退款", "not_operator"),
        ("operator", "   ", "no_reason"),
        ("operator", "长" * 501, "bad_reason"),
        ("operator", "a\x00b", "bad_reason"),
    ],
    ids=["leader", "member", "host", "blank-reason", "long-reason", "nul-in-reason"],
)
def test_refused_flags_write_nothing(heard, who, reason, code):
    person, brand = f.member(), f.brand()
    community = f.community()
    f.membership(user=person, community=community)
    if who == "leader":
        by = f.member()
        f.membership(user=by, community=community, role="leader")
    elif who == "member":
        by = f.member()
    elif who == "host":
        by = f.host()
    else:
        by = f.operator()

    with pytest.raises(DomainError) as refused:
        services.person_flag(by=by, brand=brand, user=person, reason=reason)

    assert refused.value.code == code
    assert (Flag.objects.count(), FlagLogEntry.objects.count(), heard) == (0, 0, [])


def test_a_second_active_flag_and_staff_accounts_are_refused():
    operator, person, brand = f.operator(), f.member(), f.brand()
    services.person_flag(by=operator, brand=brand, user=person, reason="一")

    with pytest.raises(DomainError) as twice:
        services.person_flag(by=operator, brand=brand, user=person, reason="二")
    with pytest.raises(DomainError) as staff:
        services.person_flag(by=operator, brand=brand, user=f.operator(), reason="二")

    assert (twice.value.code, staff.value.code) == ("already_flagged", "staff")
    assert (Flag.objects.count(), FlagLogEntry.objects.count()) == (1, 1)


def test_unflag_needs_an_operator_a_reason_and_an_active_flag(heard, django_capture_on_commit_callbacks):
    operator, person, brand = f.operator(), f.member(), f.brand()
    flag = services.person_flag(by=operator, brand=brand, user=person, reason="一")
    heard.clear()

    for by, reason, code in ((f.member(), "误判", "not_operator"), (operator, "", "no_reason")):
        with pytest.raises(DomainError) as refused:
            services.person_unflag(by=by, flag=flag, reason=reason)
        assert refused.value.code == code
    assert is_flagged(user=person, brand=brand)
    with django_capture_on_commit_callbacks(execute=True):
        services.person_unflag(by=operator, flag=flag, reason="误判")
    with pytest.raises(DomainError) as again:
        services.person_unflag(by=operator, flag=flag, reason="再次")

    assert again.value.code == "already_lifted"
    assert [action for action, *_rest in _log()] == ["flagged", "unflagged"]
    assert len(heard) == 1


def test_a_flag_holds_in_its_own_brand_only():
    operator, person = f.operator(), f.member()
    home, other = f.brand(), f.brand("另一个品牌")

    services.person_flag(by=operator, brand=home, user=person, reason="多次退款")

    assert is_flagged(user=person, brand=home) and is_flagged(user=person.pk, brand=home.pk)
    assert not is_flagged(user=person, brand=other)
    assert not is_flagged(user=f.member(), brand=home)
