"""Run the media server (nginx with the RTMP module) with the config rendered from the MEDIA_* settings.

manage.py media_server run      # in the foreground (./bin/media, the media-server service); Ctrl-C stops it
manage.py media_server start    # in the background
manage.py media_server stop
manage.py media_server status
manage.py media_server config   # print the rendered nginx.conf
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from media import config, server


class Command(BaseCommand):
    help = "Run the media server (nginx-rtmp: RTMP ingest, HLS, recordings, pushes) from the MEDIA_* settings."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["run", "start", "stop", "status", "config"])

    def handle(self, *args, action: str, **options):
        try:
            if action == "config":
                self.stdout.write(server.render(daemon=False))
            elif action == "status":
                up = server.is_running(use_cache=False)
                self.stdout.write("running" if up else "not running")
                if not up:
                    raise SystemExit(1)
            elif action == "stop":
                self.stdout.write("stopped" if server.stop() else "was not running")
            elif action == "start":
                server.start()
                self._where()
            else:
                self._where()
                server.run_foreground()
        except server.MediaServerError as exc:
            raise CommandError(str(exc)) from None

    def _where(self):
        self.stdout.write(
            f"Media server: encoders publish to {config.rtmp_public_url()}, members play {config.hls_public_url()}, "
            f"callbacks go to {settings.MEDIA_CALLBACK_URL}; files in {server.base_dir()}"
        )
