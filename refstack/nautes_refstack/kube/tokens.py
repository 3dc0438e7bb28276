"""Service-account tokens: JWTs signed with a per-store ECDSA P-256 key (ES256).

Real clusters sign service-account tokens with an asymmetric key (RS256 or ES256) and OpenBao's
Kubernetes auth method parses the JWT with the asymmetric algorithms only: an HS256 token is refused with
403 before any TokenReview is made (measured with OpenBao 2.7.2). ES256 keys are generated in about a
millisecond, so every store gets its own. :meth:`TokenSigner.public_key_pem` is what a Vault role's
``pem_keys`` would hold.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

LEGACY_ISSUER = "kubernetes/serviceaccount"
_SIGNATURE_HALF = 32


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def service_account_claims(
    namespace: str, name: str, uid: str, audiences: list[str] | None, expiration_seconds: int | None
) -> dict[str, Any]:
    """The claims of a Kubernetes service-account token, in the flat (legacy token) layout.

    OpenBao reads the SA namespace, name and uid from the ``kubernetes.io/serviceaccount/*`` claims.
    ``aud`` and ``exp`` are present only when asked for, as with a TokenRequest.
    """
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": LEGACY_ISSUER,
        "sub": f"system:serviceaccount:{namespace}:{name}",
        "iat": now,
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/service-account.name": name,
        "kubernetes.io/serviceaccount/service-account.uid": uid,
    }
    if audiences:
        claims["aud"] = list(audiences)
    if expiration_seconds is not None:
        claims["nbf"] = now
        claims["exp"] = now + expiration_seconds
    return claims


class TokenSigner:
    """Signs and verifies ES256 JWTs with a key that lives only in this process."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        public_der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.key_id = _b64encode(hashlib.sha256(public_der).digest())

    def public_key_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    def sign(self, claims: dict[str, Any]) -> str:
        header = _b64encode(json.dumps({"alg": "ES256", "kid": self.key_id}).encode())
        payload = _b64encode(json.dumps(claims).encode())
        r, s = decode_dss_signature(self._key.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(_SIGNATURE_HALF, "big") + s.to_bytes(_SIGNATURE_HALF, "big")
        return f"{header}.{payload}.{_b64encode(signature)}"

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of ``token`` if this signer made it and it has not expired, else None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header, claims, signature = (_b64decode(part) for part in parts)
            if json.loads(header).get("alg") != "ES256" or len(signature) != 2 * _SIGNATURE_HALF:
                return None
            r = int.from_bytes(signature[:_SIGNATURE_HALF], "big")
            s = int.from_bytes(signature[_SIGNATURE_HALF:], "big")
            signed = f"{parts[0]}.{parts[1]}".encode()
            self._key.public_key().verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
            decoded = json.loads(claims)
        except (InvalidSignature, ValueError, binascii.Error, AttributeError):
            return None
        if not isinstance(decoded, dict) or decoded.get("exp", float("inf")) < time.time():
            return None
        return decoded
