"""What analytics hears. The stream rows themselves are written by ``groupbuy.events.publish`` in the
publishing transaction (``groupbuy.stream``); analytics resolves who they belong to:

- the relay's durable consumer ``analytics.identity`` fills in each row's ``person_id``;
- a sign-in merges the device's anonymous history into the account's person.
"""

from django.contrib.auth.signals import user_logged_in

from groupbuy.stream import relay

from . import identity

IDENTITY_CONSUMER = identity.IDENTITY_CONSUMER


def on_sign_in(sender, request, user, **kwargs) -> None:
    from .middleware import device_id

    identity.identify(user, device_id=device_id(request) if request is not None else "")


def register() -> None:
    relay.register(IDENTITY_CONSUMER, identity.resolve_events, reset=identity.reset_resolution)
    user_logged_in.connect(on_sign_in, dispatch_uid="analytics.identity.on_sign_in")
