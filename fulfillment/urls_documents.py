"""Delivery-day documents: print views (A4, ``?paper=80mm``) and xlsx, per supplier, warehouse, route and point."""

from django.urls import path

from .documents import views

DAY = "fulfillment/docs/<str:iso>/"

urlpatterns = [
    path(f"{DAY}suppliers/<int:supplier_id>/pick-list/", views.pick_list, name="doc-pick-list"),
    path(f"{DAY}suppliers/<int:supplier_id>/pick-list.xlsx", views.pick_list_xlsx, name="doc-pick-list-xlsx"),
    path(f"{DAY}warehouses/<int:warehouse_id>/inbound/", views.inbound_list, name="doc-inbound"),
    path(f"{DAY}warehouses/<int:warehouse_id>/inbound.xlsx", views.inbound_xlsx, name="doc-inbound-xlsx"),
    path(f"{DAY}routes/<int:route_id>/loading/", views.route_list, name="doc-route"),
    path(f"{DAY}routes/<int:route_id>/loading.xlsx", views.route_xlsx, name="doc-route-xlsx"),
    path(f"{DAY}routes/<int:route_id>/crate-labels/", views.crate_labels, name="doc-crate-labels"),
    path(f"{DAY}routes/<int:route_id>/crate-labels.xlsx", views.crate_labels_xlsx, name="doc-crate-labels-xlsx"),
    path(f"{DAY}points/<int:point_id>/handouts/", views.handout_list, name="doc-handouts"),
    path(f"{DAY}points/<int:point_id>/handouts.xlsx", views.handout_list_xlsx, name="doc-handouts-xlsx"),
    path(f"{DAY}points/<int:point_id>/labels/", views.handout_labels, name="doc-handout-labels"),
    path(f"{DAY}points/<int:point_id>/labels.xlsx", views.handout_labels_xlsx, name="doc-handout-labels-xlsx"),
]
