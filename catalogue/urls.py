from django.urls import path

from . import views

app_name = "catalogue"

urlpatterns = [
    path("ops/catalogue/", views.ops_catalogue, name="ops-catalogue"),
    path("ops/catalogue/stock/", views.ops_stock, name="ops-stock"),
    path("ops/catalogue/suppliers/", views.ops_suppliers, name="ops-suppliers"),
    path("ops/catalogue/suppliers/new/", views.ops_supplier_new, name="ops-supplier-new"),
    path("ops/catalogue/suppliers/<int:pk>/", views.ops_supplier_edit, name="ops-supplier"),
    path("ops/catalogue/products/new/", views.ops_product_new, name="ops-product-new"),
    path("ops/catalogue/products/quick/", views.ops_product_quick_create, name="ops-product-quick-create"),
    path("ops/catalogue/products/<int:pk>/", views.ops_product, name="ops-product"),
    path("ops/catalogue/products/<int:pk>/photos/", views.ops_product_photos_add, name="ops-product-photos-add"),
    path(
        "ops/catalogue/products/<int:pk>/photos/<int:photo_id>/remove/",
        views.ops_product_photo_remove,
        name="ops-product-photo-remove",
    ),
    path(
        "ops/catalogue/products/<int:pk>/photos/<int:photo_id>/cover/",
        views.ops_product_photo_cover,
        name="ops-product-photo-cover",
    ),
    path("ops/catalogue/products/<int:pk>/skus/", views.ops_sku_new, name="ops-sku-new"),
    path("ops/catalogue/skus/<int:pk>/", views.ops_sku_edit, name="ops-sku"),
]
