"""Pages of the daily rhythm: the content calendar, columns and posts (operators at /ops/…, leaders at /m/lead/…),
and the member feed and post pages (/m/…).

The planning pages are the same for an operator and for a leader; only the shell around them differs. The
URL carries ``shell`` ("ops" or "lead"): operators pass ``operator_required``, leaders ``member_required``
plus a leader check on the community in the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import wraps

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from groupbuy import clock
from groupbuy.access import member_required, operator_required
from groupbuy.errors import DomainError

from . import feed, rhythm
from .access import communities_for_staff, may_manage_community
from .inputs import parse_id
from .models import Column, Community, Post, PostImage

WEEKDAYS = [
    (1, gettext_lazy("Mon")),
    (2, gettext_lazy("Tue")),
    (3, gettext_lazy("Wed")),
    (4, gettext_lazy("Thu")),
    (5, gettext_lazy("Fri")),
    (6, gettext_lazy("Sat")),
    (7, gettext_lazy("Sun")),
]


@dataclass(frozen=True)
class Shell:
    """Which shell a planning page is rendered in, and the URL names that go with it."""

    key: str  # "ops" or "lead"
    community: Community

    @property
    def base_template(self) -> str:
        return "ops/base.html" if self.key == "ops" else "member/base.html"

    def url(self, name: str, *args) -> str:
        return reverse(f"community:{self.key}-rhythm{name}", args=[self.community.slug, *args])

    @property
    def names(self) -> dict[str, str]:
        return {
            name: f"community:{self.key}-rhythm{suffix}"
            for name, suffix in (
                ("calendar", ""),
                ("columns", "-columns"),
                ("post_new", "-post-new"),
                ("post", "-post"),
                ("post_cancel", "-post-cancel"),
                ("image_remove", "-image-remove"),
            )
        }


def planning_view(view):
    """Resolve the community in the URL and let in its operators (ops shell) or its leaders (lead shell)."""

    @wraps(view)
    def wrapped(request: HttpRequest, slug: str, shell: str, **kwargs) -> HttpResponse:
        guard = operator_required if shell == "ops" else member_required

        def inner(request: HttpRequest) -> HttpResponse:
            base = Community.objects.all() if shell == "lead" else communities_for_staff(request.user)
            community = get_object_or_404(base, slug=slug)
            if shell == "lead" and not may_manage_community(user=request.user, community=community):
                raise PermissionDenied
            return view(request, Shell(shell, community), **kwargs)

        return guard(inner)(request)

    return wrapped


def _context(shell: Shell, **extra) -> dict:
    return {
        "community": shell.community,
        "shell": shell.key,
        "base_template": shell.base_template,
        "names": shell.names,
        **extra,
    }


# --- Content calendar ---------------------------------------------------------------------------------------


def _parse_date(raw: str | None) -> date | None:
    try:
        parsed = date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    # Far-off years would overflow the grid's arithmetic; nobody plans posts there.
    return parsed if parsed is not None and 2000 <= parsed.year <= 2100 else None


@planning_view
def calendar(request: HttpRequest, shell: Shell) -> HttpResponse:
    """A week (default) or month grid: each column's slots, with the post that fills them or a link to write one."""
    view = "month" if request.GET.get("view") == "month" else "week"
    anchor = _parse_date(request.GET.get("date")) or clock.localdate()
    if view == "month":
        first = anchor.replace(day=1)
        start = first - timedelta(days=first.isoweekday() - 1)
        next_month = (first + timedelta(days=32)).replace(day=1)
        end = next_month + timedelta(days=(8 - next_month.isoweekday()) % 7)
        previous_anchor, next_anchor = (first - timedelta(days=1)).replace(day=1), next_month
        days = rhythm.calendar_days(community=shell.community, start=start, end=end, month=first.month)
        label = first
    else:
        start = anchor - timedelta(days=anchor.isoweekday() - 1)
        end = start + timedelta(days=7)
        previous_anchor, next_anchor = start - timedelta(days=7), end
        days = rhythm.calendar_days(community=shell.community, start=start, end=end)
        label = start
    columns = list(Column.objects.filter(community=shell.community).order_by("-is_active", "time_of_day", "name"))
    return render(
        request,
        "ops/community/rhythm/calendar.html",
        _context(
            shell,
            view=view,
            days=days,
            label=label,
            week_end=end - timedelta(days=1),
            previous=previous_anchor.isoformat(),
            next=next_anchor.isoformat(),
            columns=columns,
            upcoming=rhythm.upcoming_posts(community=shell.community),
            weekdays=WEEKDAYS,
        ),
    )


# --- Columns ------------------------------------------------------------------------------------------------


@planning_view
def columns(request: HttpRequest, shell: Shell) -> HttpResponse:
    if request.method == "POST":
        column = None
        if request.POST.get("column"):
            column = get_object_or_404(Column, pk=parse_id(request.POST["column"]), community=shell.community)
        try:
            rhythm.column_save(
                by=request.user,
                community=shell.community,
                column=column,
                name=request.POST.get("name", ""),
                weekdays=request.POST.getlist("weekdays"),
                time_of_day=_parse_time(request.POST.get("time_of_day")),
                description=request.POST.get("description", ""),
                is_active=request.POST.get("is_active") == "on",
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The column was saved."))
        return redirect(shell.url("-columns"))
    items = list(Column.objects.filter(community=shell.community).order_by("-is_active", "time_of_day", "name"))
    for column in items:
        column.next_slot = rhythm.column_next_slot(column) if column.is_active else None
    return render(request, "ops/community/rhythm/columns.html", _context(shell, columns=items, weekdays=WEEKDAYS))


def _parse_time(raw: str | None):
    try:
        return datetime.strptime((raw or "").strip(), "%H:%M").time()
    except ValueError:
        return None


# --- Posts --------------------------------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several pictures in one input; cleans to a list (empty when none was chosen)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class PostForm(forms.Form):
    """Parses the post form; the rules (future time, picture limits) live in ``rhythm.post_save``."""

    column = forms.ModelChoiceField(
        label=gettext_lazy("Column"), queryset=Column.objects.none(), required=False, empty_label=gettext_lazy("None")
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=64, required=False)
    text = forms.CharField(label=gettext_lazy("Text"), widget=forms.Textarea(attrs={"rows": 8}), max_length=2000)
    scheduled_at = forms.DateTimeField(
        label=gettext_lazy("Publish at"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={
            "required": gettext_lazy("Choose when the post goes out."),
            "invalid": gettext_lazy("Enter a valid date and time."),
        },
    )
    images = MultipleFileField(label=gettext_lazy("Pictures"), required=False)

    def __init__(self, *args, community: Community, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["column"].queryset = Column.objects.filter(community=community, is_active=True)


def _post_form_initial(request: HttpRequest, shell: Shell) -> dict:
    initial: dict = {}
    column_pk = parse_id(request.GET.get("column"))
    column = Column.objects.filter(pk=column_pk, community=shell.community).first() if column_pk else None
    day = _parse_date(request.GET.get("date"))
    if column is not None:
        initial["column"] = column
        after = clock.now()
        if day is not None:
            # The slot of that day if it is still ahead, else the column's next slot after it.
            tz = timezone.get_current_timezone()
            after = max(after, datetime.combine(day - timedelta(days=1), column.time_of_day, tzinfo=tz))
        slot = rhythm.column_next_slot(column, after=after)
        if slot is not None:
            initial["scheduled_at"] = timezone.localtime(slot)
    elif day is not None and day >= clock.localdate():
        initial["scheduled_at"] = datetime.combine(day, datetime.min.time().replace(hour=20)).replace(
            tzinfo=timezone.get_current_timezone()
        )
    return initial


def _save_post(request: HttpRequest, shell: Shell, form: PostForm, post: Post | None) -> Post | None:
    if not form.is_valid():
        return None
    try:
        return rhythm.post_save(
            by=request.user,
            community=shell.community,
            post=post,
            column=form.cleaned_data["column"],
            title=form.cleaned_data["title"],
            text=form.cleaned_data["text"],
            scheduled_at=form.cleaned_data["scheduled_at"],
            schedule=request.POST.get("action") != "draft",
            uploads=form.cleaned_data["images"],
        )
    except DomainError as exc:
        form.add_error(None, exc.message)
        return None


@planning_view
def post_new(request: HttpRequest, shell: Shell) -> HttpResponse:
    if request.method == "POST":
        form = PostForm(request.POST, request.FILES, community=shell.community)
        saved = _save_post(request, shell, form, None)
        if saved is not None:
            messages.success(request, _saved_message(saved))
            return redirect(shell.url("-post", saved.pk))
    else:
        form = PostForm(initial=_post_form_initial(request, shell), community=shell.community)
    return render(request, "ops/community/rhythm/post.html", _context(shell, form=form, post=None))


def _saved_message(post: Post) -> str:
    if post.status == Post.Status.DRAFT:
        return _("The draft was saved.")
    when = timezone.localtime(post.scheduled_at).strftime("%Y-%m-%d %H:%M")
    return _("The post is scheduled for %(when)s.") % {"when": when}


@planning_view
def post_detail(request: HttpRequest, shell: Shell, pk: int) -> HttpResponse:
    """Edit a post until it is published; always show the leader's copy and the pictures to download."""
    post = get_object_or_404(
        Post.objects.select_related("column", "author").prefetch_related("images"), pk=pk, community=shell.community
    )
    is_editable = post.status in rhythm.EDITABLE
    form = None
    if is_editable:
        if request.method == "POST":
            form = PostForm(request.POST, request.FILES, community=shell.community)
            saved = _save_post(request, shell, form, post)
            if saved is not None:
                messages.success(request, _saved_message(saved))
                return redirect(shell.url("-post", saved.pk))
        else:
            form = PostForm(
                initial={
                    "column": post.column,
                    "title": post.title,
                    "text": post.text,
                    "scheduled_at": timezone.localtime(post.scheduled_at),
                },
                community=shell.community,
            )
    elif request.method == "POST":
        messages.error(request, _("This post was already published or cancelled and can no longer be changed."))
        return redirect(shell.url("-post", post.pk))
    link = request.build_absolute_uri(rhythm.post_share_path(post=post, sharer=request.user))
    return render(
        request,
        "ops/community/rhythm/post.html",
        _context(
            shell,
            form=form,
            post=post,
            is_editable=is_editable,
            share_link=link,
            copy_text=rhythm.leader_copy_text(post=post, link=link),
        ),
    )


@planning_view
def post_cancel(request: HttpRequest, shell: Shell, pk: int) -> HttpResponse:
    post = get_object_or_404(Post, pk=pk, community=shell.community)
    if request.method == "POST":
        try:
            rhythm.post_cancel(by=request.user, post=post)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The post was cancelled."))
    return redirect(shell.url("-post", post.pk))


@planning_view
def image_remove(request: HttpRequest, shell: Shell, pk: int, image_pk: int) -> HttpResponse:
    image = get_object_or_404(
        PostImage.objects.select_related("post"), pk=image_pk, post_id=pk, post__community=shell.community
    )
    if request.method == "POST":
        try:
            rhythm.post_image_remove(by=request.user, image=image)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The picture was removed."))
    return redirect(shell.url("-post", pk))


# --- Member pages -------------------------------------------------------------------------------------------


@member_required
def member_feed(request: HttpRequest) -> HttpResponse:
    """More of the feed: the next page as a fragment (htmx appends it), or a whole page without htmx."""
    page = feed.member_feed_page(user=request.user, page=request.GET.get("page"))
    if request.headers.get("HX-Request"):
        return render(request, "member/feed/_items.html", {"page": page})
    return render(request, "member/feed/feed.html", {"page": page})


@member_required
def member_post(request: HttpRequest, pk: int) -> HttpResponse:
    """A published post. Someone not (yet) in its community is sent to the community's join page, with the
    sharer's code, so a leader's link brings new neighbours in."""
    post, may_read = feed.post_for_member(user=request.user, pk=pk)
    if post is None:
        raise Http404
    if not may_read:
        if not post.community.is_active:
            raise Http404
        code = (request.GET.get("ref") or "").strip()
        url = reverse("community:member-join", args=[post.community.slug])
        return redirect(f"{url}?{urlencode({'ref': code})}" if code else url)
    return render(request, "member/feed/post.html", {"post": post})
