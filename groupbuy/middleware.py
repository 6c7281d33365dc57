from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.translation import check_for_language, get_supported_language_variant


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
