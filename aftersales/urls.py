from django.urls import path

from . import blacklist_views, views

app_name = "aftersales"

urlpatterns = [
    # The member
    path("m/orders/<int:order_id>/aftersales/", views.member_request_new, name="member-request-new"),
    path("m/aftersales/<int:pk>/", views.member_request, name="member-request"),
    # The leader's phone queue (their communities)
    path("m/aftersales/queue/", views.leader_queue, name="leader-queue"),
    path("m/aftersales/queue/<int:pk>/", views.leader_request, name="leader-request"),
    # Replies and resolutions (leader or operator; the page they came from is where they go back)
    path("aftersales/<int:pk>/reply/", views.request_reply, name="reply"),
    path("aftersales/<int:pk>/resolve/", views.request_resolve, name="resolve"),
    # The operator
    path("ops/aftersales/", views.ops_queue, name="ops-queue"),
    path("ops/aftersales/<int:pk>/", views.ops_request, name="ops-request"),
    path("ops/aftersales/settings/", views.ops_settings, name="ops-settings"),
    path("ops/aftersales/bulk-refund/", views.ops_bulk_refund, name="ops-bulk-refund"),
    # The refund-abuse blacklist (售后黑名单)
    path("ops/aftersales/blacklist/", blacklist_views.ops_blacklist, name="ops-blacklist"),
    path("ops/aftersales/blacklist/review/", blacklist_views.ops_blacklist_suggestions, name="ops-blacklist-review"),
    path("ops/aftersales/blacklist/log/", blacklist_views.ops_blacklist_log, name="ops-blacklist-log"),
    path(
        "ops/aftersales/blacklist/people/<int:user_id>/",
        blacklist_views.ops_blacklist_person,
        name="ops-blacklist-person",
    ),
    path("ops/aftersales/blacklist/<int:flag_id>/unflag/", blacklist_views.ops_blacklist_unflag, name="ops-unflag"),
]
