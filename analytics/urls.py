from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("ops/", views.ops_dashboard, name="ops-dashboard"),
    path("ops/people/<int:user_id>/identity/", views.ops_identity, name="ops-identity"),
]
