"""The light "our privacy notice changed" banner of the member shell: no query (the version is on the user)."""

from django.conf import settings


def consent(request) -> dict:
    """``privacy_consent_due``: a signed-in member accepted an older privacy notice (or none) than the current
    one. The member shell shows a banner asking them to read and accept it; every page stays readable."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(user, "role", None) != "member":
        return {}
    if getattr(user, "privacy_notice_version", settings.PRIVACY_NOTICE_VERSION) == settings.PRIVACY_NOTICE_VERSION:
        return {}
    return {"privacy_consent_due": True}
