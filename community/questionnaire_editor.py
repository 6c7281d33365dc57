"""Editing a community's entry questionnaire (入群问卷) outside the admin: questions, choices, points, threshold.

The editor works on drafts — what the form posted, numbers still as typed — so a refused save can show
the operator's edits again with the reasons. ``questionnaire_save`` checks a whole draft and then writes
it in one transaction; a refused draft changes nothing.

Auto-approve uses only the existing ``threshold`` field: on, applications scoring at least the threshold
join at once; off, the threshold is set to :data:`NEVER_AUTO_APPROVE`, a score no application can reach,
so every application waits for a leader or an operator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from groupbuy.errors import DomainError

from .access import may_manage_community
from .inputs import TextUnstorable, refuse_unstorable
from .models import Choice, Community, Question, Questionnaire, User

NEVER_AUTO_APPROVE = 1_000_000
MAX_QUESTIONS = 30
MAX_CHOICES = 12
MAX_POINTS = 1000
INTRO_MAX_LENGTH = 2000
TEXT_FIELD_MAX_LENGTH = Question._meta.get_field("text").max_length


class QuestionnaireInvalid(DomainError):
    """The draft breaks a rule; ``errors`` lists every problem found, ``message`` the first."""

    def __init__(self, errors: list[str], *, code: str = "invalid") -> None:
        super().__init__(errors[0], code=code)
        self.errors = errors


@dataclass
class ChoiceDraft:
    pk: int | None = None
    text: str = ""
    score: str = ""

    @property
    def is_blank(self) -> bool:
        return not self.text.strip() and not self.score.strip()


@dataclass
class QuestionDraft:
    pk: int | None = None
    text: str = ""
    kind: str = Question.Kind.SINGLE
    position: str = ""
    is_required: bool = True
    text_min_length: str = "0"
    text_points: str = "0"
    delete: bool = False
    choices: list[ChoiceDraft] = field(default_factory=list)

    @property
    def is_blank(self) -> bool:
        return self.pk is None and not self.text.strip() and all(choice.is_blank for choice in self.choices)

    @property
    def is_choice(self) -> bool:
        return self.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE)


@dataclass
class QuestionnaireDraft:
    intro: str = ""
    threshold: str = "0"
    auto_approve: bool = True
    questions: list[QuestionDraft] = field(default_factory=list)


def questionnaire_draft(*, community: Community) -> QuestionnaireDraft:
    """The community's questionnaire as a draft for the editor (an empty one when it has none yet)."""
    questionnaire = Questionnaire.objects.filter(community=community).prefetch_related("questions__choices").first()
    if questionnaire is None:
        return QuestionnaireDraft()
    auto = questionnaire.threshold < NEVER_AUTO_APPROVE
    return QuestionnaireDraft(
        intro=questionnaire.intro,
        threshold=str(questionnaire.threshold) if auto else "0",
        auto_approve=auto,
        questions=[
            QuestionDraft(
                pk=question.pk,
                text=question.text,
                kind=question.kind,
                position=str(index),
                is_required=question.is_required,
                text_min_length=str(question.text_min_length),
                text_points=str(question.text_points),
                choices=[ChoiceDraft(pk=c.pk, text=c.text, score=str(c.score)) for c in question.choices.all()],
            )
            for index, question in enumerate(questionnaire.questions.all(), start=1)
        ],
    )


def question_max_score(*, kind: str, scores: list[int], text_points: int) -> int:
    """The most points one question can give: the best single choice, every positive choice, or the text points."""
    if kind == Question.Kind.SINGLE:
        return max([0, *scores])
    if kind == Question.Kind.MULTIPLE:
        return sum(score for score in scores if score > 0)
    return text_points


@dataclass(frozen=True)
class _CleanChoice:
    pk: int | None
    text: str
    score: int


@dataclass(frozen=True)
class _CleanQuestion:
    pk: int | None
    text: str
    kind: str
    order: tuple[int, int]
    is_required: bool
    text_min_length: int
    text_points: int
    choices: tuple[_CleanChoice, ...]

    @property
    def max_score(self) -> int:
        return question_max_score(kind=self.kind, scores=[c.score for c in self.choices], text_points=self.text_points)


def _whole(value: str, *, low: int, high: int) -> int | None:
    text = (value or "").strip() or "0"
    digits = text.removeprefix("-")
    # ASCII digits only: int() also reads "١٢", "1_000" and " +3", which nobody typed as a score.
    if not (digits.isascii() and digits.isdecimal()) or len(digits) > 9:
        return None
    number = int(text)
    return number if low <= number <= high else None


def _clean(draft: QuestionnaireDraft, *, known_questions: dict[int, set[int]]) -> tuple[list[_CleanQuestion], int]:
    """Check every part of ``draft``; return the questions to keep (in order) and the threshold."""
    errors: list[str] = []
    if len(draft.intro) > INTRO_MAX_LENGTH:
        errors.append(_("The introduction is longer than %(max)s characters.") % {"max": INTRO_MAX_LENGTH})
    kept: list[_CleanQuestion] = []
    drafts = [q for q in draft.questions if not q.delete and not q.is_blank]
    if not drafts:
        errors.append(_("Add at least one question."))
    if len(drafts) > MAX_QUESTIONS:
        errors.append(_("A questionnaire can have at most %(max)s questions.") % {"max": MAX_QUESTIONS})
    for index, question in enumerate(drafts, start=1):
        label = {"n": index}
        if question.pk is not None and question.pk not in known_questions:
            errors.append(_("Question %(n)s is not part of this questionnaire. Reload the page.") % label)
            continue
        text = question.text.strip()
        if not text:
            errors.append(_("Question %(n)s: enter the question.") % label)
        elif len(text) > TEXT_FIELD_MAX_LENGTH:
            errors.append(
                _("Question %(n)s is longer than %(max)s characters.") % {**label, "max": TEXT_FIELD_MAX_LENGTH}
            )
        if question.kind not in Question.Kind.values:
            errors.append(_("Question %(n)s: choose the kind of answer.") % label)
            continue
        position = _whole(question.position or str(index), low=0, high=999)
        if position is None:
            errors.append(_("Question %(n)s: the order must be a whole number from 0 to 999.") % label)
            position = index
        choices: list[_CleanChoice] = []
        text_min_length = text_points = 0
        if question.is_choice:
            seen: set[str] = set()
            own_choices = known_questions.get(question.pk, set()) if question.pk else set()
            for choice in question.choices:
                if choice.is_blank:
                    continue
                choice_text = choice.text.strip()
                score = _whole(choice.score, low=-MAX_POINTS, high=MAX_POINTS)
                if choice.pk is not None and choice.pk not in own_choices:
                    errors.append(_("Question %(n)s: a choice is not part of this question. Reload the page.") % label)
                elif not choice_text:
                    errors.append(_("Question %(n)s: every choice with points needs its text.") % label)
                elif len(choice_text) > TEXT_FIELD_MAX_LENGTH:
                    errors.append(
                        _("Question %(n)s: a choice is longer than %(max)s characters.")
                        % {**label, "max": TEXT_FIELD_MAX_LENGTH}
                    )
                elif choice_text in seen:
                    errors.append(
                        _("Question %(n)s: the choice “%(choice)s” appears twice.") % {**label, "choice": choice_text}
                    )
                elif score is None:
                    errors.append(
                        _("Question %(n)s: points must be whole numbers from %(low)s to %(high)s.")
                        % {**label, "low": -MAX_POINTS, "high": MAX_POINTS}
                    )
                else:
                    seen.add(choice_text)
                    choices.append(_CleanChoice(pk=choice.pk, text=choice_text, score=score))
            if len(choices) < 2:
                errors.append(_("Question %(n)s: a choice question needs at least two choices.") % label)
            elif len(choices) > MAX_CHOICES:
                errors.append(_("Question %(n)s: at most %(max)s choices.") % {**label, "max": MAX_CHOICES})
        else:
            text_min_length = _whole(question.text_min_length, low=0, high=500)
            text_points = _whole(question.text_points, low=0, high=MAX_POINTS)
            if text_min_length is None:
                errors.append(_("Question %(n)s: the minimum length must be a whole number from 0 to 500.") % label)
            if text_points is None:
                errors.append(
                    _("Question %(n)s: points must be whole numbers from %(low)s to %(high)s.")
                    % {**label, "low": 0, "high": MAX_POINTS}
                )
        kept.append(
            _CleanQuestion(
                pk=question.pk,
                text=text,
                kind=question.kind,
                order=(position, index),
                is_required=question.is_required,
                text_min_length=text_min_length or 0,
                text_points=text_points or 0,
                choices=tuple(choices),
            )
        )
    threshold = NEVER_AUTO_APPROVE
    if draft.auto_approve:
        parsed = _whole(draft.threshold, low=0, high=NEVER_AUTO_APPROVE - 1)
        if parsed is None:
            errors.append(_("The pass threshold must be a whole number of points, 0 or more."))
        elif not errors:
            best = sum(question.max_score for question in kept)
            if parsed > best:
                errors.append(
                    _(
                        "The pass threshold (%(threshold)s points) is above the highest possible score "
                        "(%(max)s points): no one could be approved automatically."
                    )
                    % {"threshold": parsed, "max": best}
                )
            threshold = parsed
    if errors:
        raise QuestionnaireInvalid(errors)
    return sorted(kept, key=lambda q: q.order), threshold


def questionnaire_save(*, by: User, community: Community, draft: QuestionnaireDraft) -> Questionnaire:
    """Create or replace ``community``'s questionnaire from ``draft``; operators and its leaders only.

    Questions and choices keep their rows (and so the answers already given point at them) when edited;
    removed ones are deleted. Locks the questionnaire row so two editors saving at once apply in turn.
    """
    if not may_manage_community(user=by, community=community):
        raise QuestionnaireInvalid(
            [_("Only the community's leaders and operators can edit its questionnaire.")], code="forbidden"
        )
    try:
        refuse_unstorable(
            draft.intro,
            draft.threshold,
            [(q.text, q.kind, q.position, q.text_min_length, q.text_points) for q in draft.questions],
            [(c.text, c.score) for q in draft.questions for c in q.choices],
        )
    except TextUnstorable as exc:
        raise QuestionnaireInvalid([exc.message], code="unstorable") from None
    with transaction.atomic():
        questionnaire, _created = Questionnaire.objects.get_or_create(community=community)
        questionnaire = Questionnaire.objects.select_for_update().get(pk=questionnaire.pk)
        known = {
            question.pk: {choice.pk for choice in question.choices.all()}
            for question in questionnaire.questions.prefetch_related("choices")
        }
        questions, threshold = _clean(draft, known_questions=known)
        questionnaire.intro = draft.intro.strip()
        questionnaire.threshold = threshold
        questionnaire.save(update_fields=["intro", "threshold"])
        kept_ids = {q.pk for q in questions if q.pk is not None}
        Question.objects.filter(questionnaire=questionnaire).exclude(pk__in=kept_ids).delete()
        for position, clean in enumerate(questions, start=1):
            question = Question(pk=clean.pk, questionnaire=questionnaire)
            question.text, question.kind, question.position = clean.text, clean.kind, position
            question.is_required = clean.is_required
            question.text_min_length, question.text_points = clean.text_min_length, clean.text_points
            if clean.pk is None:
                question.save()
            else:
                question.save(force_update=True)
            kept_choices = {c.pk for c in clean.choices if c.pk is not None}
            Choice.objects.filter(question=question).exclude(pk__in=kept_choices).delete()
            for choice_position, choice_clean in enumerate(clean.choices, start=1):
                choice = Choice(
                    pk=choice_clean.pk,
                    question=question,
                    text=choice_clean.text,
                    score=choice_clean.score,
                    position=choice_position,
                )
                if choice_clean.pk is None:
                    choice.save()
                else:
                    choice.save(force_update=True)
    return questionnaire
