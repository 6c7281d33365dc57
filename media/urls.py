from django.urls import path

from . import views

app_name = "media"

urlpatterns = [
    path("internal/media/publish/", views.callback_publish, name="cb-publish"),
    path("internal/media/update/", views.callback_update, name="cb-update"),
    path("internal/media/publish-done/", views.callback_publish_done, name="cb-publish-done"),
    path("internal/media/record-done/", views.callback_record_done, name="cb-record-done"),
    path("internal/media/relays/", views.callback_relays, name="cb-relays"),
    path("internal/media/relay-status/", views.callback_relay_status, name="cb-relay-status"),
    path("host/sessions/<int:pk>/stream/rotate/", views.host_rotate_key, name="host-rotate-key"),
    path("host/sessions/<int:pk>/stream/status/", views.host_stream_status, name="host-stream-status"),
    path("host/sessions/<int:pk>/stream/destinations/", views.host_destination_add, name="host-destination-add"),
    path(
        "host/sessions/<int:pk>/stream/destinations/<int:destination_pk>/toggle/",
        views.host_destination_toggle,
        name="host-destination-toggle",
    ),
    path(
        "host/sessions/<int:pk>/stream/destinations/<int:destination_pk>/remove/",
        views.host_destination_remove,
        name="host-destination-remove",
    ),
    path("live/<int:pk>/replay/<int:recording_pk>.mp4", views.replay_file, name="replay-file"),
]
