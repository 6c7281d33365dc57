from django.urls import path

from . import views

app_name = "jielong"

urlpatterns = [
    path("ops/jielong/", views.ops_campaign_list, name="ops-campaigns"),
]
