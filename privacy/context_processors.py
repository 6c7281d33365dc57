"""The light "our privacy notice changed" banner of the member shell: no query (the version is on the user)."""

from django.conf import settings


def consent(request) -> dict:
    """``privacy_consent_due``: a signed-in member accepted an older privacy notice than the current one. The
    member shell shows a banner asking them to read and accept it; every page stays readable. (Members sign in
    only by accepting the current notice; an account nobody signed in to yet, made by a roster import, is asked
    at its first sign-in.)"""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(user, "role", None) != "member":
        return {}
    accepted = getattr(user, "privacy_notice_version", "")
    if accepted == settings.PRIVACY_NOTICE_VERSION or not (accepted or user.privacy_consent_at):
        return {}
    return {"privacy_consent_due": True}
