"""License verification: the token is a compact JWS (alg EdDSA, Ed25519) the billing server signs.
The signature is checked with ``cryptography``'s Ed25519 (Debian: python3-cryptography); the JOSE
rules around it are the companion's: EdDSA only, Tollgate's issuer, audience and type, and the
registered time claims with two minutes of clock tolerance."""

import base64
import json
import time

from .errors import LicenseVerificationUnavailable, error_for

ISSUER = "tollgate"
AUDIENCE = "tollgate-companion"
TYPE = "tollgate-license+jwt"
TOLERANCE_SECONDS = 120


def _b64(segment):
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _invalid(why):
    return error_for("LICENSE_INVALID", "The license does not verify against the vendor's keys (%s)." % why)


def verify_license_token(token, keys, now=None):
    """Returns the claims of a token signed by one of the pinned keys (a JWKS dict), or raises the
    typed error: LicenseInvalidError, OfflineGraceExpiredError, ClockTamperedError, or
    LicenseVerificationUnavailable when ``cryptography`` is not installed."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        raise LicenseVerificationUnavailable(
            "License verification needs the 'cryptography' package (pip install cryptography, "
            "or Debian's python3-cryptography)."
        ) from None
    candidates = [key for key in keys.get("keys", []) if key.get("kty") == "OKP" and key.get("crv") == "Ed25519"]
    if not candidates:
        raise error_for("LICENSE_INVALID", "No vendor keys are pinned in this build: the license cannot be verified.")
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise _invalid("not a compact JWS")
    try:
        header = json.loads(_b64(parts[0]))
        claims = json.loads(_b64(parts[1]))
        signature = _b64(parts[2])
    except ValueError:
        raise _invalid("damaged") from None
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise _invalid("algorithm not EdDSA")
    if header.get("typ") != TYPE:
        raise _invalid("unexpected type")
    if header.get("kid") is not None:
        candidates = [key for key in candidates if key.get("kid") == header["kid"]]
    signed = (parts[0] + "." + parts[1]).encode("ascii")
    for key in candidates:
        try:
            Ed25519PublicKey.from_public_bytes(_b64(key["x"])).verify(signature, signed)
            break
        except (InvalidSignature, ValueError, KeyError):
            continue
    else:
        raise _invalid("signature")
    if not isinstance(claims, dict):
        raise _invalid("claims")
    audience = claims.get("aud")
    if claims.get("iss") != ISSUER or (audience != AUDIENCE and not (isinstance(audience, list) and AUDIENCE in audience)):
        raise _invalid("issuer or audience")
    for claim in ("iat", "nbf", "exp", "sub"):
        if claim not in claims:
            raise _invalid("missing " + claim)
    now = time.time() if now is None else now
    if now - TOLERANCE_SECONDS >= claims["exp"]:
        raise error_for("OFFLINE_GRACE_EXPIRED", "The offline grace of this license has ended.")
    if claims["nbf"] > now + TOLERANCE_SECONDS or claims["iat"] > now + TOLERANCE_SECONDS:
        raise error_for("CLOCK_TAMPERED", "The license was issued later than this computer's clock says it is now.")
    return claims
