"""The emulated service-account tokens: kube-apiserver's ES256 layout, and what the signer accepts back.

OpenBao checks the signature itself (``test_kube_openbao``); these pin the token's shape and the
signer's refusals, so a change of JWT library cannot loosen either unnoticed.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
from nautes_refstack.kube.tokens import LEGACY_ISSUER, TokenSigner, service_account_claims


def segment(token: str, index: int) -> dict[str, Any]:
    """One JSON segment of a JWT (0: header, 1: claims), decoded without any check."""
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def test_the_token_has_kube_apiservers_header_and_flat_claims() -> None:
    signer = TokenSigner()
    claims = service_account_claims("ns1", "sa1", "uid-1", ["vault"], 600)
    token = signer.sign(claims)

    assert segment(token, 0) == {"alg": "ES256", "kid": signer.key_id}
    assert segment(token, 1) == claims
    assert claims["iss"] == LEGACY_ISSUER
    assert claims["sub"] == "system:serviceaccount:ns1:sa1"
    assert claims["exp"] == claims["nbf"] + 600
    assert signer.verify(token) == claims, "the audience is left to the authenticator"


def test_a_token_without_audience_or_expiry_never_expires() -> None:
    signer = TokenSigner()
    claims = service_account_claims("ns1", "sa1", "uid-1", None, None)
    assert not {"aud", "exp", "nbf"} & claims.keys()
    assert signer.verify(signer.sign(claims)) == claims


def test_the_signer_refuses_what_it_did_not_sign_or_what_has_expired() -> None:
    signer = TokenSigner()
    claims = service_account_claims("ns1", "sa1", "uid-1", None, None)
    token = signer.sign(claims)
    header, _, signature = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "x"}).encode()).rstrip(b"=").decode()

    assert signer.verify(TokenSigner().sign(claims)) is None, "another store's key"
    assert signer.verify(f"{header}.{forged}.{signature}") is None, "claims changed after signing"
    assert signer.verify(jwt.encode(claims, "k" * 32, algorithm="HS256")) is None, "only ES256"
    assert signer.verify(signer.sign({**claims, "exp": claims["iat"] - 1})) is None, "expired"
    assert signer.verify("not-a-token") is None
