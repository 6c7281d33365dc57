from django.urls import path

from fulfillment.purchase_consumers import PurchaseSummaryConsumer
from jielong.consumers import CampaignProgressConsumer
from livestream.consumers import LiveRoomConsumer

websocket_urlpatterns = [
    path("ws/jielong/<int:campaign_id>/", CampaignProgressConsumer.as_asgi()),
    path("ws/live/<int:session_id>/", LiveRoomConsumer.as_asgi()),
    path("ws/fulfilment/purchase/<int:brand_id>/", PurchaseSummaryConsumer.as_asgi()),
]
