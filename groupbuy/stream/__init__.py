"""The durable event stream (a transactional outbox): every published domain event is one row of
``stream.Event``, written in the publishing transaction, so a rolled-back change records nothing and a
committed one never loses its event to a crash before the after-commit handlers run.

- ``models``: ``Event`` (the envelope: id, uuid, occurred/received times, name, user/person/distinct id,
  source, community, live session, campaign, order, amount in fen, properties) and ``Cursor`` (how far
  each durable consumer has read).
- ``envelope``: a domain event → its row (the small mapping of payload fields onto columns), the
  request/task context that fills the rest (device id, source, a historical time for the demo).
- ``relay``: durable consumers that read the stream by id after commit (idempotent, a cursor each), run
  by the periodic task ``groupbuy.stream.tasks.relay``.

``groupbuy.events.publish`` writes the rows; the analytics app reads them (``analytics.Event`` is a
proxy of ``stream.Event``) and resolves persons (``analytics.identity``).
"""
