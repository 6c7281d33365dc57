"""Tracking URLs: the operator's batch steps, the driver's signed page (/d/<token>/), the leader's "received"."""

from django.urls import path

from . import tracking_views as views

urlpatterns: list = [
    path("ops/fulfilment/<int:brand_id>/<str:day>/tracking/move/", views.ops_move, name="tracking-move"),
    path("d/<str:token>/", views.driver_page, name="driver"),
    path("d/<str:token>/depart/", views.driver_depart, name="driver-depart"),
    path("d/<str:token>/arrive/<int:point_id>/", views.driver_arrive, name="driver-arrive"),
    path("m/fulfilment/points/<int:point_id>/<str:day>/received/", views.point_received, name="point-received"),
]
