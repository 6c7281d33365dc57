"""Small helpers shared by the shell templates."""

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def percent_of(part, whole) -> int:
    """``{{ joined|percent_of:threshold }}`` → 0…100, for progress bars."""
    try:
        part, whole = int(part), int(whole)
    except (TypeError, ValueError):
        return 0
    if whole <= 0:
        return 100 if part > 0 else 0
    return max(0, min(100, part * 100 // whole))


@register.simple_tag(takes_context=True)
def current(context, *view_names: str) -> str:
    """``{% current "analytics:ops-dashboard" %}`` → ``aria-current="page"`` on the active navigation link."""
    match = getattr(context.get("request"), "resolver_match", None)
    if match is not None and match.view_name in view_names:
        return mark_safe(' aria-current="page"')
    return ""


@register.simple_tag(takes_context=True)
def query_replace(context, **changes) -> str:
    """``?{% query_replace page=3 %}`` → the current query string with ``page`` set (filters kept)."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        query[key] = value
    return query.urlencode()
