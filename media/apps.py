from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediaConfig(AppConfig):
    name = "media"
    verbose_name = _("Live media")

    def ready(self) -> None:
        from livestream import hooks

        from . import room, subscribers

        subscribers.register()
        # The live room and the host's panel show the stream, the player and the replay (livestream never imports media).
        hooks.register_room_media(room.room_media)
        hooks.register_panel_media(room.panel_media)
