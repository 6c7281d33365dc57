from django.urls import path

from . import member_views

urlpatterns: list = [
    path("<int:pk>/", member_views.campaign_page, name="member-campaign"),
    path("<int:pk>/joiners/", member_views.campaign_joiners_page, name="member-campaign-joiners"),
    path("<int:pk>/join/", member_views.campaign_join, name="member-join"),
    path("<int:pk>/order/", member_views.order_edit, name="member-order-edit"),
    path("<int:pk>/order/cancel/", member_views.order_cancel, name="member-order-cancel"),
    path("<int:pk>/poster.png", member_views.campaign_poster, name="member-poster"),
    path("orders/<int:order_id>/", member_views.order_page, name="member-order"),
    path("orders/<int:order_id>/cancel/", member_views.order_page_cancel, name="member-order-page-cancel"),
]
