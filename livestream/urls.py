from django.urls import path

from . import views

app_name = "livestream"

urlpatterns = [
    path("ops/live/", views.ops_session_list, name="ops-sessions"),
    path("host/", views.host_sessions, name="host-sessions"),
    path("host/sessions/<int:pk>/", views.host_panel, name="host-panel"),
    path("host/sessions/<int:pk>/go-live/", views.host_go_live, name="host-go-live"),
    path("host/sessions/<int:pk>/end/", views.host_end, name="host-end"),
    path("m/live/<int:pk>/reserve/", views.member_reserve, name="member-reserve"),
]
