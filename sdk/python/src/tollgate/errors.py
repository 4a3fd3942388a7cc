"""Every failure is a TollgateError with a stable ``code``; each code has its own class.

Decision reason codes are raised by :func:`assert_allowed` and ``license()``; the others come from
the companion's JSON-RPC errors or from the client itself (connection, timeout, a malformed answer).
"""


class TollgateError(Exception):
    code = "TOLLGATE_ERROR"

    def __init__(self, message, rpc_code=None, decision=None, code=None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.rpc_code = rpc_code
        self.decision = decision


def _error_class(code, name):
    return type(name, (TollgateError,), {"code": code})


# Decision reason codes.
NotSignedInError = _error_class("NOT_SIGNED_IN", "NotSignedInError")
FeatureNotInPlanError = _error_class("FEATURE_NOT_IN_PLAN", "FeatureNotInPlanError")
LimitReachedError = _error_class("LIMIT_REACHED", "LimitReachedError")
SizeLimitExceededError = _error_class("SIZE_LIMIT_EXCEEDED", "SizeLimitExceededError")
SubscriptionInactiveError = _error_class("SUBSCRIPTION_INACTIVE", "SubscriptionInactiveError")
LicenseExpiredError = _error_class("LICENSE_EXPIRED", "LicenseExpiredError")
OfflineGraceExpiredError = _error_class("OFFLINE_GRACE_EXPIRED", "OfflineGraceExpiredError")
ClockTamperedError = _error_class("CLOCK_TAMPERED", "ClockTamperedError")
LicenseInvalidError = _error_class("LICENSE_INVALID", "LicenseInvalidError")
LeaseExhaustedError = _error_class("LEASE_EXHAUSTED", "LeaseExhaustedError")
DeviceReleasedError = _error_class("DEVICE_RELEASED", "DeviceReleasedError")
DeviceLimitReachedError = _error_class("DEVICE_LIMIT_REACHED", "DeviceLimitReachedError")
# The companion's JSON-RPC errors.
ParseError = _error_class("PARSE_ERROR", "ParseError")
InvalidRequestError = _error_class("INVALID_REQUEST", "InvalidRequestError")
MethodNotFoundError = _error_class("METHOD_NOT_FOUND", "MethodNotFoundError")
InvalidParamsError = _error_class("INVALID_PARAMS", "InvalidParamsError")
InternalError = _error_class("INTERNAL", "InternalError")
UsageNotRecordedError = _error_class("USAGE_NOT_RECORDED", "UsageNotRecordedError")
# The client's own.
ProtocolError = _error_class("PROTOCOL_ERROR", "ProtocolError")
ConnectionFailedError = _error_class("CONNECTION_FAILED", "ConnectionFailedError")
TollgateTimeoutError = _error_class("TIMEOUT", "TollgateTimeoutError")
LicenseVerificationUnavailable = _error_class("LICENSE_VERIFICATION_UNAVAILABLE", "LicenseVerificationUnavailable")

ERROR_CLASSES = {
    cls.code: cls
    for cls in (
        NotSignedInError, FeatureNotInPlanError, LimitReachedError, SizeLimitExceededError,
        SubscriptionInactiveError, LicenseExpiredError, OfflineGraceExpiredError, ClockTamperedError,
        LicenseInvalidError, LeaseExhaustedError, DeviceReleasedError, DeviceLimitReachedError,
        ParseError, InvalidRequestError, MethodNotFoundError, InvalidParamsError,
        InternalError, UsageNotRecordedError, ProtocolError, ConnectionFailedError, TollgateTimeoutError,
        LicenseVerificationUnavailable,
    )
}

_RPC_CODES = {
    -32700: "PARSE_ERROR",
    -32600: "INVALID_REQUEST",
    -32601: "METHOD_NOT_FOUND",
    -32602: "INVALID_PARAMS",
    -32603: "INTERNAL",
}


def error_for(code, message, rpc_code=None, decision=None):
    """The typed error for a stable code; a code this version does not know is a plain TollgateError."""
    cls = ERROR_CLASSES.get(code)
    if cls is None:
        return TollgateError(message, rpc_code, decision, code=code)
    return cls(message, rpc_code, decision)


def error_from_rpc(error):
    data = error.get("data")
    reason = data.get("code") if isinstance(data, dict) else None
    if not isinstance(reason, str):
        reason = _RPC_CODES.get(error["code"], "RPC_ERROR")
    return error_for(reason, error["message"], error["code"])


def assert_allowed(decision):
    """Raises the typed error for a denial (LimitReachedError, …); returns an allowed decision."""
    if decision["allowed"]:
        return decision
    upgrade = decision.get("upgrade")
    suffix = " - upgrade to %s" % upgrade["name"] if upgrade else ""
    raise error_for(decision["code"], "Denied: %s%s" % (decision["code"], suffix), None, decision)
