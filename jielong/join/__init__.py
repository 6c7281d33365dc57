"""Joining a jielong (接龙), in one package.

- ``rules``: the join's rules in Python — the one check of join input (quantities, ids, note), the
  refusals' wording (``join_error``) and the checks the ORM join makes before locking.
- ``sql``: the join as data for the PostgreSQL function ``jielong_join`` (``jielong_join_v4.sql``
  beside it, installed by migration 0017), used in production.
- ``orm``: the ORM twin of that function, for the embedded SQLite demo. The test suite runs every
  join test against both.
- ``asgi``, ``group_call``, ``after_join``: the ASGI fast path that answers the join URL before
  Django, groups concurrent joins into one database call, and does the after-join work on one thread
  (drained at shutdown through the ASGI lifespan protocol).
- ``after_join`` also owns the campaign outbox (``models.CampaignOutbox``): the broadcast and tier
  settling a join owes are recorded with it, so they survive Redis being down (``outbox_sweep``).

The public service is ``jielong.services.order_join``; stock moves through ``catalogue.stock``.
"""
