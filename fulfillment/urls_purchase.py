"""The purchase area: the operator's live purchase summary and supplier links, the supplier's phone page."""

from django.urls import path

from . import purchase_views, supplier_views

urlpatterns = [
    path("ops/fulfilment/purchase/", purchase_views.purchase, name="purchase"),
    path(
        "ops/fulfilment/purchase/suppliers/<int:supplier_id>/links/",
        purchase_views.supplier_link_list,
        name="supplier-links",
    ),
    path(
        "ops/fulfilment/purchase/links/<int:link_id>/revoke/",
        purchase_views.supplier_link_revoke_view,
        name="supplier-link-revoke",
    ),
    # The supplier's page: the token is the whole credential (no account, no sign-in).
    path("s/<str:token>/", supplier_views.supplier_page, name="supplier-page"),
    path("s/<str:token>/confirm/", supplier_views.supplier_confirm, name="supplier-confirm"),
    path("s/<str:token>/shipped/", supplier_views.supplier_shipped, name="supplier-shipped"),
    path("s/<str:token>/pick-list/<str:iso>.xlsx", supplier_views.supplier_pick_list_xlsx, name="supplier-pick-xlsx"),
]
