"""Deploy key pairs as ``ssh-keygen -t ecdsa -P "" -C <title>`` makes them (NAUTES ``util/key``).

``git.defaultDeployKeyType`` is ``ecdsa`` in the shipped configuration: a NIST P-256 key whose public half
is an ``authorized_keys`` line carrying the key title as comment, and whose private half is an OpenSSH
PEM block (stored in Vault as ``deploykey``).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


@dataclass(frozen=True)
class KeyPair:
    public: str
    private: str


def generate_deploy_key(title: str) -> KeyPair:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    return KeyPair(public=f"{public.decode()} {title}\n", private=private.decode())
