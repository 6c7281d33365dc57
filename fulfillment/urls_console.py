"""The operator's fulfilment console (app namespace ``fulfillment``)."""

from django.urls import path

from . import console_views as views

urlpatterns = [
    path("ops/fulfilment/", views.days, name="days"),
    path("ops/fulfilment/<int:brand_id>/<str:day>/", views.day, name="day"),
    path("ops/fulfilment/<int:brand_id>/<str:day>/split/", views.day_split, name="day-split"),
    path("ops/fulfilment/campaigns/<int:campaign_id>/split/", views.campaign_split, name="campaign-split"),
    path("ops/fulfilment/campaigns/<int:campaign_id>/move/", views.campaign_move, name="campaign-move"),
    path("ops/fulfilment/warehouses/", views.warehouses, name="warehouses"),
    path("ops/fulfilment/warehouses/new/", views.warehouse_new, name="warehouse-new"),
    path("ops/fulfilment/warehouses/<int:pk>/", views.warehouse_edit, name="warehouse"),
    path("ops/fulfilment/warehouses/<int:pk>/active/", views.warehouse_active, name="warehouse-active"),
    path("ops/fulfilment/routes/", views.routes, name="routes"),
    path("ops/fulfilment/routes/new/", views.route_new, name="route-new"),
    path("ops/fulfilment/routes/<int:pk>/", views.route_edit, name="route"),
    path("ops/fulfilment/routes/<int:pk>/stops/", views.route_stops, name="route-stops"),
    path("ops/fulfilment/routes/<int:pk>/active/", views.route_active, name="route-active"),
    path("ops/fulfilment/points/", views.points, name="points"),
    path("ops/fulfilment/points/<int:pk>/", views.point, name="point"),
    path("ops/fulfilment/points/<int:pk>/verifiers/", views.verifier_add, name="verifier-add"),
    path(
        "ops/fulfilment/points/<int:pk>/verifiers/<int:verifier_id>/remove/",
        views.verifier_remove,
        name="verifier-remove",
    ),
]
