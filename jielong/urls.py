from django.urls import include, path

app_name = "jielong"

# Member pages (/m/jielong/…) and operator pages (/ops/jielong/…) live in their own modules.
urlpatterns = [
    path("m/jielong/", include("jielong.member_urls")),
    path("ops/jielong/", include("jielong.ops_urls")),
]
