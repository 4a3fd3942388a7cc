"""Shape checks for the host socket's answers (docs/host-ipc.md). The conformance suite runs the
same vectors as the TypeScript SDK, whose answers are checked against the companion's schemas."""

REASON_CODES = (
    "OK", "NOT_SIGNED_IN", "FEATURE_NOT_IN_PLAN", "LIMIT_REACHED", "SIZE_LIMIT_EXCEEDED",
    "SUBSCRIPTION_INACTIVE", "LICENSE_EXPIRED", "OFFLINE_GRACE_EXPIRED", "CLOCK_TAMPERED", "LICENSE_INVALID",
    "LEASE_EXHAUSTED",
    "DEVICE_RELEASED", "DEVICE_LIMIT_REACHED",
)


def _int_or_absent(value):
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def is_decision(value):
    return (
        isinstance(value, dict)
        and isinstance(value.get("allowed"), bool)
        and value.get("code") in REASON_CODES
        and _int_or_absent(value.get("remaining"))
        and _int_or_absent(value.get("limit"))
        and (value.get("upgrade") is None or isinstance(value["upgrade"], dict))
    )


def is_consume_outcome(value):
    return (
        isinstance(value, dict)
        and is_decision(value.get("decision"))
        and (value.get("idempotencyKey") is None or isinstance(value["idempotencyKey"], str))
        and isinstance(value.get("replayed"), bool)
    )


def is_usage(value):
    return (
        isinstance(value, dict)
        and isinstance(value.get("period"), str)
        and isinstance(value.get("operations"), dict)
        and isinstance(value.get("apiCalls"), dict)
    )


def _is_device(value):
    return (
        isinstance(value, dict)
        and isinstance(value.get("deviceId"), str)
        and isinstance(value.get("thisDevice"), bool)
    )


def is_devices(value):
    return (
        isinstance(value, dict)
        and _int_or_absent(value.get("maxDevices"))
        and value.get("maxDevices") is not None
        and isinstance(value.get("devices"), list)
        and all(_is_device(device) for device in value["devices"])
    )


def _is_license_view(value):
    return isinstance(value, dict) and value.get("status") in ("none", "valid", "invalid") and isinstance(
        value.get("features"), list
    )


def is_license_answer(value):
    return (
        isinstance(value, dict)
        and (value.get("token") is None or isinstance(value["token"], str))
        and _is_license_view(value.get("license"))
    )


def is_license_changed(value):
    return (
        isinstance(value, dict)
        and _is_license_view(value.get("license"))
        and isinstance(value.get("effectiveTier"), str)
        and isinstance(value.get("standing"), dict)
    )


def is_subscribed(value):
    return isinstance(value, dict) and value.get("subscribed") is True


def anything(value):
    return True
