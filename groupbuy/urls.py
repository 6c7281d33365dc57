from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

urlpatterns = [
    path("", include("groupbuy.web.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/jielong/", include("jielong.api_urls")),
    path("", include("community.urls")),
    path("", include("catalogue.urls")),
    path("", include("livestream.urls")),
    path("", include("media.urls")),
    path("", include("jielong.urls")),
    path("", include("fulfillment.urls")),
    path("", include("feedback.urls")),
    path("", include("highlights.urls")),
    path("", include("aftersales.urls")),
    path("", include("fission.urls")),
    path("", include("analytics.urls")),
    path("", include("cdp.urls")),
    path("", include("bi.urls")),
    path("", include("webhooks.urls")),
    path("", include("privacy.urls")),
    path("", include("api.urls")),
]

if settings.SERVE_MEDIA:
    # Media files are pictures the app wrote itself (re-encoded, EXIF stripped); never a listing.
    urlpatterns += [path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
