"""Development and demo: the README's run command uses these (DEBUG on, a throwaway key)."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="local-dev-only-not-secret")
# The console SMS provider also shows the code on the sign-in page, so the demo needs no phone.
SMS_SHOW_CODE = env.bool("SMS_SHOW_CODE", default=True)
