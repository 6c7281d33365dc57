"""kombu's filesystem transport with whole messages only: the embedded default's Celery broker (no Redis).

kombu's producer opens ``<name>.msg`` and only then writes it; a worker polling the folder in between moves the
still-empty file away, reads ``""`` and stops with ``JSONDecodeError`` (celery/kombu#1551), which ends
``./bin/dev``. Here the message is written under a name the worker does not pick up (``….msg.part``) and renamed
into place in one step (``os.replace`` is atomic within a folder), so a worker sees a message whole or not at all.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.part"
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
