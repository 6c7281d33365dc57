"""The pickup counter (核销) on a leader's / 核销员's phone, and the member's order-panel poll.

Under /m/pickup/…, beside community's /m/pickup/<slug>/ (a member's default point): every path here has a
second segment that is not a lone slug, so the two never match the same URL.
"""

from django.urls import path

from . import pickup_views as views

urlpatterns = [
    path("m/pickup/", views.points, name="pickup-points"),
    path("m/pickup/points/<int:point_id>/", views.point, name="pickup-point"),
    path("m/pickup/points/<int:point_id>/lookup/", views.lookup, name="pickup-lookup"),
    path("m/pickup/points/<int:point_id>/verify/", views.verify, name="pickup-verify"),
    path("m/pickup/points/<int:point_id>/lists/", views.lists, name="pickup-lists"),
    path("m/pickup/handouts/<int:handout_id>/undo/", views.undo, name="pickup-undo"),
    path("m/pickup/orders/<int:order_id>/", views.member_order_pickup, name="member-order-pickup"),
]
