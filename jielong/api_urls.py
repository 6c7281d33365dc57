from django.urls import path

from . import api

app_name = "jielong-api"

urlpatterns = [
    path("campaigns/<int:campaign_id>/", api.campaign_snapshot, name="campaign-snapshot"),
    path("campaigns/<int:campaign_id>/join/", api.campaign_join, name="campaign-join"),
]
