from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("ops/", views.ops_dashboard, name="ops-dashboard"),
]
