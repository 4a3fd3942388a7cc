"""The vendor's pinned license keys: the public JWKS the billing server publishes at
``/.well-known/jwks.json``. A vendor build replaces this module with its own keys (generated from
the vendor build configuration) or passes ``keys=`` to ``TollgateClient``. Empty here: with no keys,
``license()`` refuses every token (LicenseInvalidError) rather than trusting one."""

VENDOR_KEYS = {"keys": []}
