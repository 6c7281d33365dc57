from django.urls import path

from . import ops_views

urlpatterns = [
    path("", ops_views.ops_campaign_list, name="ops-campaigns"),
    path("new/", ops_views.ops_campaign_new, name="ops-campaign-new"),
    path("orders/", ops_views.ops_all_orders, name="ops-orders"),
    path("orders/paid/", ops_views.ops_all_orders_mark_paid, name="ops-orders-mark-paid"),
    path("orders/export.xlsx", ops_views.ops_all_orders_export, name="ops-orders-export"),
    path("<int:campaign_id>/", ops_views.ops_campaign_detail, name="ops-campaign"),
    path("<int:campaign_id>/edit/", ops_views.ops_campaign_edit, name="ops-campaign-edit"),
    path("<int:campaign_id>/copy/", ops_views.ops_campaign_copy, name="ops-campaign-copy"),
    path("<int:campaign_id>/open/", ops_views.ops_campaign_open, name="ops-campaign-open"),
    path("<int:campaign_id>/preview/", ops_views.ops_campaign_preview, name="ops-campaign-preview"),
    path("<int:campaign_id>/preview/frame/", ops_views.ops_campaign_preview_frame, name="ops-campaign-preview-frame"),
    path("<int:campaign_id>/images/", ops_views.ops_campaign_image_add, name="ops-campaign-image-add"),
    path(
        "<int:campaign_id>/images/<int:image_id>/remove/",
        ops_views.ops_campaign_image_remove,
        name="ops-campaign-image-remove",
    ),
    path("<int:campaign_id>/orders/", ops_views.ops_campaign_orders, name="ops-campaign-orders"),
    path(
        "<int:campaign_id>/orders/<int:order_id>/paid/",
        ops_views.ops_order_mark_paid,
        name="ops-order-mark-paid",
    ),
    path("<int:campaign_id>/export.xlsx", ops_views.ops_campaign_export, name="ops-campaign-export"),
    path(
        "<int:campaign_id>/export-full-phones.xlsx",
        ops_views.ops_campaign_export_full_phones,
        name="ops-campaign-export-full-phones",
    ),
]
