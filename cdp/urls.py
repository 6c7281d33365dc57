from django.urls import path

from . import views

app_name = "cdp"

urlpatterns = [
    path("ops/cdp/", views.ops_home, name="home"),
    path("ops/cdp/rfm/<slug:cell>/", views.ops_rfm_cell, name="rfm-cell"),
    path("ops/cdp/koc/designate/", views.ops_koc_designate, name="koc-designate"),
    path("ops/cdp/segments/", views.ops_segments, name="segments"),
    path("ops/cdp/segments/count/", views.ops_segment_count, name="segment-count"),
    path("ops/cdp/segments/<int:pk>/", views.ops_segment, name="segment"),
    path("ops/cdp/people/<int:user_id>/", views.ops_member, name="member"),
    path("ops/cdp/rounds/<int:round_pk>/target/", views.ops_round_target, name="round-target"),
    path("ops/cdp/sessions/<int:pk>/invite/", views.ops_session_invite, name="session-invite"),
]
