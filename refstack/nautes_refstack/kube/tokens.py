"""Service-account tokens: JWTs signed with a per-store ECDSA P-256 key (ES256).

Real clusters sign service-account tokens with an asymmetric key (RS256 or ES256) and OpenBao's
Kubernetes auth method parses the JWT with the asymmetric algorithms only: an HS256 token is refused with
403 before any TokenReview is made (measured with OpenBao 2.7.2). ES256 keys are generated in about a
millisecond, so every store gets its own. :meth:`TokenSigner.public_key_pem` is what a Vault role's
``pem_keys`` would hold.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.utils import base64url_encode

LEGACY_ISSUER = "kubernetes/serviceaccount"


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
        # kube-apiserver's key id: the base64url SHA-256 of the DER public key.
        self.key_id = base64url_encode(hashlib.sha256(public_der).digest()).decode("ascii")

    def public_key_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    def sign(self, claims: dict[str, Any]) -> str:
        # The header is ``{"alg", "kid"}`` as kube-apiserver writes it: no ``typ`` (PyJWT drops a None one).
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.key_id, "typ": None})

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of ``token`` if this signer made it and it has not expired, else None.

        Only the signature and ``exp`` decide: the audiences are the authenticator's business (it checks
        them against the request's), and ``nbf``/``iat`` are never in the future for tokens minted here.
        """
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["ES256"],
                options={"verify_aud": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError:
            return None
        return claims
