"""Who may open which shell. Pages refuse the wrong role with 403; anonymous users go to sign-in."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse

OPERATOR = "operator"
HOST = "host"
MEMBER = "member"


def _allowed(user, shell: str) -> bool:
    if shell == OPERATOR:
        return user.is_operator
    if shell == HOST:
        # Operators may open the control panel too: they often run a session's assistant seat.
        return user.is_host or user.is_operator
    if shell == MEMBER:
        return user.role == user.Role.MEMBER
    raise ValueError(shell)


def shell_required(shell: str):
    """Decorate a view so only users of ``shell`` may open it."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                login_url = reverse("community:member-login") if shell == MEMBER else reverse("web:staff-login")
                return redirect_to_login(request.get_full_path(), login_url)
            if not _allowed(user, shell):
                raise PermissionDenied
            request.shell = shell
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


operator_required = shell_required(OPERATOR)
host_required = shell_required(HOST)
member_required = shell_required(MEMBER)
