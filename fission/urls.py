from django.urls import path

from . import ops_views, views

app_name = "fission"

urlpatterns = [
    path("m/earnings/", views.earnings_page, name="member-earnings"),
    path("m/earnings/sell/<int:pk>/poster.png", views.seller_poster, name="member-poster"),
    path("m/earnings/statements/<int:pk>.xlsx", views.statement_download, name="member-statement"),
    path("ops/commissions/", ops_views.overview, name="ops-overview"),
    path("ops/commissions/settle/", ops_views.settle, name="ops-settle"),
    path("ops/commissions/defaults/", ops_views.defaults_save, name="ops-defaults"),
    path("ops/commissions/statements/<int:pk>.xlsx", ops_views.statement_download, name="ops-statement"),
    path("ops/commissions/campaigns/<int:campaign_id>/", ops_views.campaign_sellers, name="ops-campaign"),
]
