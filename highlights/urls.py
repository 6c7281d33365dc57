from django.urls import path

from . import views

app_name = "highlights"

urlpatterns = [
    path("m/clips/<int:pk>/", views.member_clip, name="member-clip"),
    path("ops/live/<int:session_id>/clips/", views.ops_clips, name="ops-clips"),
    path("ops/clips/<int:pk>/<str:action>/", views.ops_clip_action, name="ops-clip-action"),
]
