"""Identity (issue 14 item 2, analytics.identity): one person per human across distinct ids; anonymous
history (a device that opened a share link) merges into the person on sign-in; two identified persons are
never merged automatically; an operator can, on the member's identity page, and the merge is recorded."""

from datetime import timedelta

import pytest
from django.contrib.auth.signals import user_logged_in
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from analytics import identity
from analytics.middleware import COOKIE
from analytics.models import DistinctId, Event, Person, PersonMerge
from groupbuy import events
from groupbuy.stream import envelope, relay
from livestream import events as livestream_events
from tests import factories

pytestmark = pytest.mark.django_db

DEVICE = "0123456789abcdef0123456789abcdef"


def _resolve():
    relay.consume("analytics.identity", settle=timedelta(0))


def _persons_of_events():
    return list(Event.objects.order_by("pk").values_list("name", "person_id"))


def test_an_anonymous_visit_to_a_share_link_gets_a_device_cookie_and_an_event_under_it(client):
    home = factories.community()

    response = client.get(reverse("community:member-join", args=[home.slug]), {"ref": "ABC123"})

    assert response.status_code == 200
    device = response.cookies[COOKIE].value
    assert len(device) == 32 and response.cookies[COOKIE]["httponly"]
    [event] = Event.objects.all()
    assert (event.name, event.user_id, event.distinct_id, event.source) == (
        "analytics.link_opened",
        None,
        f"device:{device}",
        "mall",
    )
    assert event.properties == {"path": f"/m/join/{home.slug}/", "kind": "join", "ref": "ABC123"}
    # the same device comes back: same id, no new cookie
    again = client.get(reverse("community:member-join", args=[home.slug]))
    assert COOKIE not in again.cookies
    assert set(Event.objects.values_list("distinct_id", flat=True)) == {f"device:{device}"}


def test_a_signed_in_visit_records_no_link_event(client):
    member = factories.member()
    client.force_login(member)

    client.get(reverse("community:member-join", args=[factories.community().slug]))

    assert not Event.objects.filter(name="analytics.link_opened").exists()


def test_on_sign_in_the_device_s_anonymous_history_merges_into_the_person():
    member = factories.member()
    with envelope.context(device_id=DEVICE):
        events.publish(livestream_events.Entered(live_session_id=1, user_id=None))  # before signing in
    _resolve()
    anonymous = identity.person_of(f"device:{DEVICE}")
    assert anonymous is not None and not anonymous.is_identified

    request = RequestFactory().get("/m/")
    request.device_id = DEVICE
    user_logged_in.send(sender=type(member), request=request, user=member)  # what login() sends
    events.publish(livestream_events.Entered(live_session_id=2, user_id=member.pk))  # after
    _resolve()

    person = identity.person_for_user(member)
    assert person.pk != anonymous.pk
    assert set(Event.objects.values_list("person_id", flat=True)) == {person.pk}
    assert set(person.distinct_ids.values_list("value", flat=True)) == {
        f"user:{member.pk}",
        f"phone:{member.phone}",
        f"device:{DEVICE}",
    }
    merge = PersonMerge.objects.get()
    assert (merge.kept_id, merge.absorbed_id, merge.automatic, merge.by, merge.events) == (
        person.pk,
        anonymous.pk,
        True,
        None,
        1,
    )
    assert Person.objects.get(pk=anonymous.pk).merged_into_id == person.pk


def test_a_device_unresolved_at_sign_in_still_ends_up_with_the_person():
    member = factories.member()
    with envelope.context(device_id=DEVICE):
        events.publish(livestream_events.Entered(live_session_id=1, user_id=None))

    identity.identify(member, device_id=DEVICE)  # before the relay saw the anonymous event
    _resolve()

    assert _persons_of_events() == [("livestream.entered", identity.person_for_user(member).pk)]
    assert list(identity.person_events(identity.person_for_user(member)).values_list("pk", flat=True)) == list(
        Event.objects.values_list("pk", flat=True)
    )


def test_two_identified_persons_are_never_merged_automatically():
    first, second = factories.member(), factories.member()
    identity.identify(first, device_id=DEVICE)  # the family phone, first signed in by one neighbour

    identity.identify(second, device_id=DEVICE)  # then by another
    with pytest.raises(identity.IdentityError):
        identity.link(second, kind=DistinctId.Kind.PHONE, value=first.phone)
    identity.link(first, kind=DistinctId.Kind.WECHAT_OPENID, value="o-first")
    with pytest.raises(identity.IdentityError):
        identity.link(second, kind=DistinctId.Kind.WECHAT_OPENID, value="o-first")
    with pytest.raises(identity.IdentityError):
        identity.merge(kept=identity.person_for_user(first), absorbed=identity.person_for_user(second), automatic=True)

    assert identity.person_of(f"device:{DEVICE}") == identity.person_for_user(first)
    assert identity.person_of("openid:o-first") == identity.person_for_user(first)
    assert identity.person_for_user(first) != identity.person_for_user(second)
    assert not PersonMerge.objects.exists()


def test_an_integration_s_wechat_ids_join_the_person_and_an_anonymous_owner_merges():
    member = factories.member()
    anonymous = identity.person_for_device(DEVICE)
    DistinctId.objects.create(value="unionid:u-1", kind=DistinctId.Kind.WECHAT_UNIONID, person=anonymous)

    person = identity.link(member, kind=DistinctId.Kind.WECHAT_UNIONID, value="u-1")
    identity.link(member, kind=DistinctId.Kind.WECHAT_OPENID, value="o-1")

    assert identity.person_of("unionid:u-1") == person == identity.person_of(f"device:{DEVICE}")
    assert identity.person_of("openid:o-1") == person
    assert PersonMerge.objects.get().automatic


def test_an_operator_merges_two_accounts_on_the_identity_page_and_the_merge_is_recorded(client):
    operator = factories.operator()
    home = factories.community()
    kept, other = factories.member(), factories.member()
    membership = factories.membership(user=kept, community=home)
    events.publish(livestream_events.Entered(live_session_id=1, user_id=kept.pk))
    events.publish(livestream_events.Entered(live_session_id=2, user_id=other.pk))
    _resolve()
    client.force_login(operator)

    member_page = client.get(reverse("community:ops-member", args=[home.slug, membership.pk])).content.decode()
    url = reverse("analytics:ops-identity", args=[kept.pk])
    assert f'href="{url}"' in member_page
    response = client.post(url, {"phone": other.phone.removeprefix("+86"), "reason": "同一人两个手机号"})

    assert response.status_code == 302
    person = identity.person_for_user(kept)
    assert identity.person_for_user(other) == person
    assert set(Event.objects.values_list("person_id", flat=True)) == {person.pk}
    merge = PersonMerge.objects.get()
    assert (merge.by, merge.automatic, merge.reason, merge.events) == (operator, False, "同一人两个手机号", 1)
    assert f"user:{other.pk}" in merge.distinct_ids
    page = client.get(url).content.decode()
    assert "同一人两个手机号" in page and "identity-merges" in page
    # the other account's later events count for the same person
    events.publish(livestream_events.Entered(live_session_id=3, user_id=other.pk))
    _resolve()
    assert identity.person_events(person).count() == 3


@pytest.mark.parametrize(
    ("posted", "said"),
    [
        ({"phone": "", "reason": "x"}, "没有会员使用这个手机号"),
        ({"phone": "13700000000", "reason": "x"}, "没有会员使用这个手机号"),
        ({"phone": "PHONE", "reason": " "}, "请说明"),
        ({"phone": "KEPT", "reason": "x"}, "已经是同一个人"),
    ],
    ids=["no phone", "nobody has it", "no reason", "the same account"],
)
def test_a_bad_merge_says_why_in_chinese_and_changes_nothing(client, posted, said):
    kept, other = factories.member(), factories.member()
    posted = {**posted, "phone": posted["phone"].replace("PHONE", other.phone).replace("KEPT", kept.phone)}
    client.force_login(factories.operator())

    response = client.post(reverse("analytics:ops-identity", args=[kept.pk]), posted)

    assert response.status_code == 400
    assert said in response.content.decode()
    assert 'value="x"' in response.content.decode() or posted["reason"] == " "  # what was typed stays
    assert not PersonMerge.objects.exists()
    assert identity.person_for_user(kept) != identity.person_for_user(other)


def test_opening_the_identity_page_writes_nothing(client):
    member = factories.member()
    events.publish(livestream_events.Entered(live_session_id=1, user_id=member.pk))  # not resolved yet
    client.force_login(factories.operator())

    page = client.get(reverse("analytics:ops-identity", args=[member.pk]))

    assert page.status_code == 200
    assert "livestream.entered" in page.content.decode()
    assert identity.person_of(f"user:{member.pk}") is None
    assert not DistinctId.objects.filter(value__in=[f"user:{member.pk}", f"phone:{member.phone}"]).exists()


def test_only_an_operator_opens_the_identity_page(client):
    member = factories.member()
    client.force_login(factories.member())
    assert client.get(reverse("analytics:ops-identity", args=[member.pk])).status_code == 403
    with pytest.raises(identity.IdentityError):
        identity.operator_merge(kept_user=member, absorbed_phone=member.phone, by=factories.member(), reason="x")


def test_rebuilding_identity_from_the_stream_gives_the_same_persons():
    a, b = factories.member(), factories.member()
    with envelope.context(device_id=DEVICE):
        events.publish(livestream_events.Entered(live_session_id=1, user_id=None))
    events.publish_many([livestream_events.Entered(live_session_id=n, user_id=u.pk) for n, u in ((2, a), (3, b))])
    identity.identify(a, device_id=DEVICE)
    _resolve()
    before = _persons_of_events()

    call_command("stream_rebuild", consumer=["analytics.identity"])

    assert _persons_of_events() == before
    assert len({person for _name, person in before}) == 2


def test_a_failing_identity_never_keeps_anyone_from_signing_in(client, monkeypatch):
    member = factories.member()

    def broken(*args, **kwargs):
        raise RuntimeError("identity is down")

    monkeypatch.setattr(identity, "identify", broken)
    client.force_login(member)  # sends user_logged_in

    assert client.get(reverse("community:member-home")).status_code == 200
