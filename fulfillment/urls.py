"""Fulfilment URLs: each area keeps its own module (console, purchase/supplier, documents, tracking, pickup)."""

from django.urls import include, path

app_name = "fulfillment"

urlpatterns = [
    path("", include("fulfillment.urls_console")),
    path("", include("fulfillment.urls_purchase")),
    path("", include("fulfillment.urls_documents")),
    path("", include("fulfillment.urls_tracking")),
    path("", include("fulfillment.urls_pickup")),
]
