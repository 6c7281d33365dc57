from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def watch_time(seconds) -> str:
    """Seconds as "47 min 05 s"; an empty value as a dash."""
    if seconds is None or seconds == "":
        return "—"
    total = round(float(seconds))
    return _("%(minutes)d min %(seconds)02d s") % {"minutes": total // 60, "seconds": total % 60}
