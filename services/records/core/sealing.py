"""Payloads sealed with their customer's key (AES-256-GCM, the record's id as associated data), so
destroying one key erases a customer's personal data from every record at once; and tree heads
signed with Ed25519 so an outside party holding a checkpoint can tell it came from this log."""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.records.core.audit import canonical

NONCE_BYTES = 12


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, payload: dict[str, Any], record: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, json.dumps(payload).encode(), record.encode())


def unseal(key: bytes, sealed: bytes, record: str) -> dict[str, Any] | None:
    """The payload, or None if the sealed bytes or the key are not the ones it was sealed with."""
    try:
        plain = AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], record.encode())
    except InvalidTag:
        return None
    payload: dict[str, Any] = json.loads(plain)
    return payload


class Signer:
    """Signs tree heads with an Ed25519 key given as its 32-byte seed."""

    def __init__(self, seed: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def sign(self, head: dict[str, Any]) -> bytes:
        return self._key.sign(canonical(head))


def signature_valid(public_key: bytes, head: dict[str, Any], signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, canonical(head))
    except (InvalidSignature, ValueError):
        return False
    return True
