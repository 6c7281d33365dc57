from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from . import ops_views, views

app_name = "api"

router = SimpleRouter()
router.register("communities", views.CommunityViewSet, basename="community")
router.register("pickup-points", views.PickupPointViewSet, basename="pickup-point")
router.register("members", views.MemberViewSet, basename="member")
router.register("products", views.ProductViewSet, basename="product")
router.register("skus", views.SkuViewSet, basename="sku")
router.register("live-sessions", views.LiveSessionViewSet, basename="live-session")
router.register("reservations", views.ReservationViewSet, basename="reservation")
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("campaign-items", views.CampaignItemViewSet, basename="campaign-item")
router.register("orders", views.OrderViewSet, basename="order")
router.register("parcels", views.ParcelViewSet, basename="parcel")
router.register("aftersales-requests", views.AftersalesRequestViewSet, basename="aftersales-request")
router.register("commissions", views.CommissionViewSet, basename="commission")

urlpatterns = [
    path("api/v1/", include(router.urls)),
    path("api/v1/pickups/verify/", views.PickupVerifyView.as_view(), name="pickup-verify"),
    path("api/v1/dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", ops_views.docs_standalone, name="docs"),
    path("ops/integrations/tokens/", ops_views.tokens, name="ops-tokens"),
    path("ops/integrations/tokens/<int:token_id>/revoke/", ops_views.token_revoke_view, name="ops-token-revoke"),
    path("ops/integrations/docs/", ops_views.docs, name="ops-docs"),
]
