"""``{% webhook_alerts %}``: the operator is told, on the dashboard, about endpoints disabled after failures
(the dashboard belongs to analytics, which cannot import webhooks; a template may load this)."""

from __future__ import annotations

from django import template

from .. import selectors

register = template.Library()


@register.inclusion_tag("ops/webhooks/_dashboard_alerts.html", takes_context=True)
def webhook_alerts(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_operator:
        return {"alerts": []}
    return {"alerts": selectors.auto_disabled(viewer=user)}
