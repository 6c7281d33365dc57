"""Editing the entry questionnaire (community.questionnaire_editor) outside the admin: create, edit, reorder,
validate, who may."""

import pytest

from community import services
from community.models import Application, Choice, Community, Membership, Question, Questionnaire
from community.questionnaire_editor import NEVER_AUTO_APPROVE, QuestionnaireInvalid, questionnaire_save
from tests import factories
from tests.community.scenarios import questionnaire as make_questionnaire

pytestmark = pytest.mark.django_db


def form(*questions, intro="欢迎加入阳光花园吃货群", threshold="5", auto=True) -> dict:
    """POST data for the editor: each question a dict with text, kind, choices [(text, score, pk?)] …"""
    data = {"intro": intro, "threshold": threshold}
    if auto:
        data["auto_approve"] = "on"
    for i, q in enumerate(questions):
        p = f"q-{i}-"
        data.update({f"{p}text": q["text"], f"{p}kind": q.get("kind", "single"), f"{p}position": q.get("position", "")})
        if q.get("pk"):
            data[f"{p}pk"] = str(q["pk"])
        if q.get("required", True):
            data[f"{p}required"] = "on"
        if q.get("delete"):
            data[f"{p}delete"] = "on"
        data[f"{p}text_min_length"] = str(q.get("min_length", 0))
        data[f"{p}text_points"] = str(q.get("points", 0))
        for j, choice in enumerate([*q.get("choices", []), ("", ""), ("", "")]):  # blank rows as the page sends
            data[f"{p}c-{j}-text"], data[f"{p}c-{j}-score"] = choice[0], str(choice[1])
            if len(choice) > 2:
                data[f"{p}c-{j}-pk"] = str(choice[2])
    # The page always sends one blank "new question" block at the end.
    n = len(questions)
    data.update({f"q-{n}-text": "", f"q-{n}-kind": "single", f"q-{n}-position": "", f"q-{n}-c-0-text": ""})
    return data


def saved(community):
    questionnaire = Questionnaire.objects.get(community=community)
    return {
        "intro": questionnaire.intro,
        "threshold": questionnaire.threshold,
        "questions": [
            (
                q.text,
                q.kind,
                q.position,
                q.is_required,
                q.text_min_length,
                q.text_points,
                [(c.text, c.score, c.position) for c in q.choices.all()],
            )
            for q in questionnaire.questions.all()
        ],
    }


def snapshot():
    return (
        list(Questionnaire.objects.values_list("pk", "intro", "threshold")),
        list(Question.objects.order_by("pk").values_list("pk", "text", "kind", "position", "text_points")),
        list(Choice.objects.order_by("pk").values_list("pk", "text", "score", "position")),
    )


WHY = {"text": "为什么想加入？", "kind": "single", "choices": [("关心食材来源", 6), ("图便宜", 0)]}


COOK = {"text": "你平时做饭吗？", "kind": "multiple", "choices": [("每天做", 3), ("给孩子做", 2), ("不做", -1)]}


ABOUT = {"text": "介绍一下你自己", "kind": "text", "min_length": 10, "points": 2, "required": False}


def test_operator_creates_a_questionnaire(ops):
    community = factories.community()

    response = ops.post(f"/ops/communities/{community.slug}/questionnaire/", form(WHY, COOK, ABOUT), follow=True)

    assert [str(m) for m in response.context["messages"]] == ["The questionnaire was saved."]
    assert saved(community) == {
        "intro": "欢迎加入阳光花园吃货群",
        "threshold": 5,
        "questions": [
            ("为什么想加入？", "single", 1, True, 0, 0, [("关心食材来源", 6, 1), ("图便宜", 0, 2)]),
            ("你平时做饭吗？", "multiple", 2, True, 0, 0, [("每天做", 3, 1), ("给孩子做", 2, 2), ("不做", -1, 3)]),
            ("介绍一下你自己", "text", 3, False, 10, 2, []),
        ],
    }
    page = response.content.decode()
    assert "为什么想加入？" in page and "关心食材来源" in page


def test_editing_reorders_renames_adds_and_deletes_keeping_rows(ops):
    community = factories.community(join_gate=Community.JoinGate.QUESTIONNAIRE)
    _q, parts = make_questionnaire(community, threshold=10)
    why, cook, about = parts["why"], parts["cook"], parts["about"]

    data = form(
        {
            "pk": about.pk,
            "text": "介绍一下你自己（住哪个小区）",
            "kind": "text",
            "position": 1,
            "min_length": 8,
            "points": 4,
        },
        {
            "pk": why.pk,
            "text": why.text,
            "position": 2,
            # renamed one choice, dropped the other, added a new one
            "choices": [("关心食材的来源", 7, parts["good"].pk), ("朋友推荐", 2)],
        },
        {"pk": cook.pk, "text": cook.text, "kind": "multiple", "delete": True},
        {"text": "能来自提点取货吗？", "position": 3, "choices": [("能", 3), ("不能", 0)]},
        threshold="9",
    )
    response = ops.post(f"/ops/communities/{community.slug}/questionnaire/", data)

    assert response.status_code == 302
    assert saved(community)["questions"] == [
        ("介绍一下你自己（住哪个小区）", "text", 1, True, 8, 4, []),
        ("为什么想加入？", "single", 2, True, 0, 0, [("关心食材的来源", 7, 1), ("朋友推荐", 2, 2)]),
        ("能来自提点取货吗？", "single", 3, True, 0, 0, [("能", 3, 1), ("不能", 0, 2)]),
    ]
    assert saved(community)["threshold"] == 9
    # Edited rows keep their primary keys (answers already given still point at them); removed rows are gone.
    assert Question.objects.filter(pk__in=[why.pk, about.pk]).count() == 2
    assert not Question.objects.filter(pk=cook.pk).exists()
    assert Choice.objects.get(pk=parts["good"].pk).text == "关心食材的来源"
    assert not Choice.objects.filter(pk=parts["cheap"].pk).exists()


@pytest.mark.parametrize(
    ("questions", "threshold", "message"),
    [
        (
            [{"text": "为什么想加入？", "choices": [("关心食材来源", 6)]}],
            "0",
            "Question 1: a choice question needs at least two choices.",
        ),
        (
            [WHY, COOK],
            "12",
            "The pass threshold (12 points) is above the highest possible score (11 points): "
            "no one could be approved automatically.",
        ),
        ([{"text": "", "choices": [("能", 1), ("不能", 0)]}], "0", "Question 1: enter the question."),
        (
            [WHY, {"text": "你平时做饭吗？", "choices": [("", 3), ("每天做", 1), ("不做", 0)]}],
            "0",
            "Question 2: every choice with points needs its text.",
        ),
        (
            [{"text": "住哪里？", "choices": [("阳光花园", 1), ("阳光花园", 2)]}],
            "0",
            "Question 1: the choice “阳光花园” appears twice.",
        ),
        (
            [{"text": "住哪里？", "choices": [("阳光花园", "很多"), ("别处", 0)]}],
            "0",
            "Question 1: points must be whole numbers from -1000 to 1000.",
        ),
        ([WHY], "-1", "The pass threshold must be a whole number of points, 0 or more."),
        ([], "0", "Add at least one question."),
        ([{**WHY, "kind": "essay"}], "0", "Question 1: choose the kind of answer."),
    ],
    ids=[
        "one-choice",
        "threshold-above-max",
        "no-text",
        "points-without-text",
        "duplicate-choice",
        "points-not-a-number",
        "negative-threshold",
        "no-questions",
        "unknown-kind",
    ],
)
def test_invalid_questionnaire_is_refused_with_a_clear_message_and_nothing_changes(ops, questions, threshold, message):
    community = factories.community()
    make_questionnaire(community, threshold=10)
    before = snapshot()

    response = ops.post(f"/ops/communities/{community.slug}/questionnaire/", form(*questions, threshold=threshold))

    assert response.status_code == 400
    assert message in response.context["errors"]
    assert message.split("“")[0] in response.content.decode()
    assert snapshot() == before
    # The operator's edits are shown again, not lost.
    if questions and questions[0]["text"]:
        assert questions[0]["text"] in response.content.decode()


def test_refused_first_questionnaire_creates_nothing(ops):
    community = factories.community()

    ops.post(f"/ops/communities/{community.slug}/questionnaire/", form({"text": "住哪里？", "choices": [("阳光", 1)]}))

    assert not Questionnaire.objects.filter(community=community).exists()


def test_question_from_another_questionnaire_cannot_be_hijacked(ops):
    community = factories.community()
    other = factories.community()
    make_questionnaire(community)
    _q, foreign = make_questionnaire(other)
    before = snapshot()

    response = ops.post(
        f"/ops/communities/{community.slug}/questionnaire/",
        form({**WHY, "pk": foreign["why"].pk}, threshold="0"),
    )

    assert response.status_code == 400
    assert "Question 1 is not part of this questionnaire. Reload the page." in response.context["errors"]
    assert snapshot() == before


def test_auto_approve_off_sends_every_application_to_review(ops):
    community = factories.community(join_gate=Community.JoinGate.QUESTIONNAIRE)

    ops.post(f"/ops/communities/{community.slug}/questionnaire/", form(WHY, threshold="", auto=False))
    questionnaire = Questionnaire.objects.get(community=community)
    best = questionnaire.questions.get().choices.get(text="关心食材来源")
    result = services.community_join(
        user=factories.member(), community=community, answers={str(best.question_id): str(best.pk)}
    )
    page = ops.get(f"/ops/communities/{community.slug}/questionnaire/")

    assert questionnaire.threshold == NEVER_AUTO_APPROVE
    assert not result.joined
    assert result.application.status == Application.Status.PENDING
    assert page.context["draft"].auto_approve is False


def test_editor_lets_the_join_gate_switch_to_questionnaire(ops):
    community = factories.community()
    url = f"/ops/communities/{community.slug}/"
    refused = ops.post(url, {"positioning": "", "capacity": "500", "join_gate": "questionnaire"}, follow=True)

    ops.post(f"/ops/communities/{community.slug}/questionnaire/", form(WHY, threshold="6"))
    ops.post(url, {"positioning": "", "capacity": "500", "join_gate": "questionnaire"})

    assert [str(m) for m in refused.context["messages"]] == [
        "This community has no questionnaire yet. Create one on its questionnaire page first."
    ]
    community.refresh_from_db()
    assert community.join_gate == Community.JoinGate.QUESTIONNAIRE


def test_leader_edits_their_own_communitys_questionnaire_on_the_phone_shell(client):
    community = factories.community()
    leader = factories.member()
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    client.cookies["django_language"] = "en"
    client.force_login(leader)

    page = client.get(f"/m/lead/{community.slug}/questionnaire/")
    response = client.post(f"/m/lead/{community.slug}/questionnaire/", form(WHY, threshold="6"))

    assert page.status_code == 200 and page.context["base_template"] == "member/base.html"
    assert response.status_code == 302
    assert saved(community)["threshold"] == 6


def test_others_cannot_edit_the_questionnaire(client):
    community = factories.community()
    make_questionnaire(community)
    other_leader = factories.member()
    factories.membership(user=other_leader, community=factories.community(), role=Membership.Role.LEADER)
    member = factories.member()
    factories.membership(user=member, community=community)
    before = snapshot()

    for user in (other_leader, member, factories.host()):
        client.force_login(user)
        for prefix in ("/m/lead", "/ops/communities"):
            response = client.post(f"{prefix}/{community.slug}/questionnaire/", form(WHY, threshold="0"))
            assert response.status_code == 403, (user, prefix)

    assert snapshot() == before
    with pytest.raises(QuestionnaireInvalid) as refused:
        questionnaire_save(by=other_leader, community=community, draft=None)
    assert refused.value.code == "forbidden"
