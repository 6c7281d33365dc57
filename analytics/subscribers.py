"""What analytics hears. The stream rows themselves are written by ``groupbuy.events.publish`` in the
publishing transaction (``groupbuy.stream``); analytics resolves who they belong to:

- the relay's durable consumer ``analytics.identity`` fills in each row's ``person_id``;
- a sign-in merges the device's anonymous history into the account's person.
"""

import logging

from django.contrib.auth.signals import user_logged_in
from django.db import transaction

from groupbuy.stream import relay

from . import identity

IDENTITY_CONSUMER = identity.IDENTITY_CONSUMER
logger = logging.getLogger(__name__)


def on_sign_in(sender, request, user, **kwargs) -> None:
    """Never keeps anyone from signing in: a failure is logged (the relay resolves the ids later)."""
    from .middleware import device_id

    try:
        with transaction.atomic():
            identity.identify(user, device_id=device_id(request) if request is not None else "")
    except Exception:
        logger.exception("identity on sign-in failed for user %s", user.pk)


def register() -> None:
    relay.register(IDENTITY_CONSUMER, identity.resolve_events, reset=identity.reset_resolution)
    user_logged_in.connect(on_sign_in, dispatch_uid="analytics.identity.on_sign_in")
