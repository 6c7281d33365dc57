from django.urls import path

from . import views

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
]
