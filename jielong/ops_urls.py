from django.urls import path

from . import ops_views

urlpatterns = [
    path("", ops_views.ops_campaign_list, name="ops-campaigns"),
]
