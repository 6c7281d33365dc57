from django.urls import path

from jielong.consumers import CampaignProgressConsumer

websocket_urlpatterns = [
    path("ws/jielong/<int:campaign_id>/", CampaignProgressConsumer.as_asgi()),
]
