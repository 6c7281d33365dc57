from django.urls import path

from . import views

app_name = "livestream"

urlpatterns = [
    path("host/", views.host_sessions, name="host-sessions"),
]
