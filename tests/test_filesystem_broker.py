"""The embedded default's broker writes a message whole before a worker can see it (groupbuy/filesystem_broker.py)."""

import os

from kombu import Connection, Queue

from groupbuy import filesystem_broker


def test_a_message_is_invisible_to_the_worker_until_written_whole(tmp_path, monkeypatch):
    # given a connection over the project's filesystem transport
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path), "control_folder": str(tmp_path)}
    seen_while_writing, renamed = [], []
    real_replace = os.replace

    def replace(src, dst):
        # what a polling worker would find just before the message is put in place
        seen_while_writing.extend(name for name in os.listdir(tmp_path) if name.endswith(".msg"))
        renamed.append(os.path.basename(dst))
        real_replace(src, dst)

    monkeypatch.setattr(filesystem_broker.os, "replace", replace)
    with Connection("filesystem://", transport="groupbuy.filesystem_broker:Transport", transport_options=options) as c:
        queue = Queue("q1")(c.default_channel)
        queue.declare()
        # when a message is published
        c.default_channel.basic_publish(c.default_channel.prepare_message('{"a": 1}'), routing_key="q1", exchange="")
        # then no .msg file existed before it was complete, and the worker reads it whole
        assert len(renamed) == 1 and renamed[0].endswith(".q1.msg")
        assert seen_while_writing == []
        message = queue.get(no_ack=True)
        assert message.body == b'{"a": 1}'
