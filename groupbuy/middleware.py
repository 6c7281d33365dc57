from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.translation import check_for_language, get_supported_language_variant
from django.utils.translation import gettext as _


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Chinese unless the user picked another language with the switch (the language cookie).

    Django's own middleware also follows the browser's Accept-Language header, which would show
    English to every operator whose laptop happens to be set to English; the product is Chinese first.
    """

    def process_request(self, request) -> None:
        translation.activate(self.language_for(request))
        request.LANGUAGE_CODE = translation.get_language()

    @staticmethod
    def language_for(request) -> str:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen and check_for_language(chosen):
            try:
                return get_supported_language_variant(chosen)
            except LookupError:
                pass
        return settings.LANGUAGE_CODE


class SecurityHeadersMiddleware:
    """Permissions-Policy on every response (PERMISSIONS_POLICY), and a 413 for a request whose announced body
    is over the limits before anything reads it: DATA_UPLOAD_MAX_MEMORY_SIZE for forms and JSON (the API's JSON
    parser reads the body without Django's check), UPLOAD_MAX_REQUEST_BYTES for multipart uploads."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.permissions_policy = ", ".join(
            f"{feature}=({' '.join(origins)})"
            for feature, origins in getattr(settings, "PERMISSIONS_POLICY", {}).items()
        )

    def __call__(self, request):
        refused = self.refuse_large_body(request)
        response = refused or self.get_response(request)
        if self.permissions_policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.permissions_policy
        return response

    @staticmethod
    def refuse_large_body(request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/")
        limit = settings.UPLOAD_MAX_REQUEST_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None or length <= limit:
            return None
        with translation.override(ChineseFirstLocaleMiddleware.language_for(request)):
            message = _("The request is too large (at most %(mb)s MB).") % {"mb": f"{limit / 2**20:g}"}
        if request.path.startswith("/api/") or "json" in request.META.get("CONTENT_TYPE", ""):
            return JsonResponse({"error": {"code": "too_large", "message": message}}, status=413)
        return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
