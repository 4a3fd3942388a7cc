"""Tollgate host SDK for Python: ask the Tollgate companion whether the signed-in user may use a
feature or spend units of a metered operation (docs/host-ipc.md)."""

from .client import TollgateClient
from .errors import *  # noqa: F401,F403 - one class per stable code
from .errors import ERROR_CLASSES, TollgateError, assert_allowed, error_for
from .license import verify_license_token
from .paths import default_socket_path
from .vendor_keys import VENDOR_KEYS
from .wire import REASON_CODES

__all__ = [
    "TollgateClient", "TollgateError", "ERROR_CLASSES", "assert_allowed", "error_for", "verify_license_token",
    "default_socket_path", "VENDOR_KEYS", "REASON_CODES",
] + [cls.__name__ for cls in ERROR_CLASSES.values()]
