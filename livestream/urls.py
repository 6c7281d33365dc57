from django.urls import path

from . import console_views, views

app_name = "livestream"

urlpatterns = [
    path("ops/live/", views.ops_session_list, name="ops-sessions"),
    path("ops/live/moderation/", views.ops_moderation, name="ops-moderation"),
    path("ops/live/calendar/", console_views.ops_live_calendar, name="ops-live-calendar"),
    path("ops/live/series/new/", console_views.ops_series_new, name="ops-series-new"),
    path("ops/live/series/<int:pk>/", console_views.ops_series_edit, name="ops-series-edit"),
    path("ops/live/new/", console_views.ops_session_new, name="ops-session-new"),
    path("ops/live/<int:pk>/", console_views.ops_session, name="ops-session"),
    path("ops/live/<int:pk>/edit/", console_views.ops_session_edit, name="ops-session-edit"),
    path("ops/live/<int:pk>/reschedule/", console_views.ops_session_reschedule, name="ops-session-reschedule"),
    path("ops/live/<int:pk>/cancel/", console_views.ops_session_cancel, name="ops-session-cancel"),
    path("ops/live/<int:pk>/warmup/standard/", console_views.ops_warmup_standard, name="ops-warmup-standard"),
    path("ops/live/<int:pk>/rounds/", console_views.ops_round_add, name="ops-round-add"),
    path("ops/live/<int:pk>/rounds/<int:round_pk>/remove/", console_views.ops_round_remove, name="ops-round-remove"),
    path("ops/live/<int:pk>/rounds/<int:round_pk>/poster.png", console_views.ops_round_poster, name="ops-round-poster"),
    path("host/", views.host_sessions, name="host-sessions"),
    path("host/sessions/<int:pk>/", views.host_panel, name="host-panel"),
    path("host/sessions/<int:pk>/go-live/", views.host_go_live, name="host-go-live"),
    path("host/sessions/<int:pk>/end/", views.host_end, name="host-end"),
    path("host/sessions/<int:pk>/warmup/standard/", views.host_warmup_standard, name="host-warmup-standard"),
    path("host/sessions/<int:pk>/reschedule/", views.host_reschedule, name="host-reschedule"),
    path("host/sessions/<int:pk>/cancel/", views.host_cancel, name="host-cancel"),
    path("host/sessions/<int:pk>/action/", views.host_action, name="host-action"),
    path("host/sessions/<int:pk>/replay/", views.host_replay, name="host-replay"),
    path("m/live/<int:pk>/", views.member_live, name="member-live"),
    path("m/live/<int:pk>/reserve/", views.member_reserve, name="member-reserve"),
    path("m/live/<int:pk>/unreserve/", views.member_unreserve, name="member-unreserve"),
    path("m/live/<int:pk>/heartbeat/", views.member_heartbeat, name="member-heartbeat"),
    path("m/live/<int:pk>/comment/", views.member_comment, name="member-comment"),
    path("m/live/poster/<int:pk>/", views.member_poster, name="member-poster"),
    path("m/inbox/", views.member_inbox, name="member-inbox"),
    path("m/inbox/read/", views.member_inbox_read, name="member-inbox-read"),
]
