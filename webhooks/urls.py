from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("ops/integrations/webhooks/", views.ops_endpoints, name="ops-endpoints"),
    path("ops/integrations/webhooks/new/", views.ops_endpoint_new, name="ops-endpoint-new"),
    path("ops/integrations/webhooks/<int:pk>/", views.ops_endpoint, name="ops-endpoint"),
    path("ops/integrations/webhooks/<int:pk>/rotate/", views.ops_endpoint_rotate, name="ops-endpoint-rotate"),
    path("ops/integrations/webhooks/<int:pk>/test/", views.ops_endpoint_test, name="ops-endpoint-test"),
    path("ops/integrations/webhooks/<int:pk>/enable/", views.ops_endpoint_enable, name="ops-endpoint-enable"),
    path("ops/integrations/webhooks/<int:pk>/disable/", views.ops_endpoint_disable, name="ops-endpoint-disable"),
    path("ops/integrations/webhooks/<int:pk>/delete/", views.ops_endpoint_delete, name="ops-endpoint-delete"),
    path("ops/integrations/webhooks/deliveries/", views.ops_deliveries, name="ops-deliveries"),
    path("ops/integrations/webhooks/deliveries/<int:pk>/", views.ops_delivery, name="ops-delivery"),
    path(
        "ops/integrations/webhooks/deliveries/<int:pk>/replay/", views.ops_delivery_replay, name="ops-delivery-replay"
    ),
]
