from django.urls import path

from jielong.consumers import CampaignProgressConsumer
from livestream.consumers import LiveRoomConsumer

websocket_urlpatterns = [
    path("ws/jielong/<int:campaign_id>/", CampaignProgressConsumer.as_asgi()),
    path("ws/live/<int:session_id>/", LiveRoomConsumer.as_asgi()),
]
