"""in-toto Statement v1 in a DSSE envelope, signed with Ed25519.

The predicate is serialised canonically (sorted keys, no whitespace, no
timestamps), so the same inputs give a byte-identical predicate; it carries
the SHA-256 digests of the configuration, policies and run records it was
computed from. Keys are PEM files (``--key``) or PEM text in
``AGENTCTL_SIGNING_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from agentctl.errors import AgentctlError

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"


class AttestError(AgentctlError):
    pass


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def statement(subject_name: str, commit: str, predicate_type: str, predicate: dict[str, Any]) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject_name, "digest": {"gitCommit": commit}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _private_key(key_path: Path | None) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if key_path is not None:
        try:
            pem = key_path.read_bytes()
        except OSError as exc:
            raise AttestError(
                f"cannot read signing key {key_path}: {exc.strerror}", "pass an Ed25519 private key in PEM"
            ) from None
    elif os.environ.get("AGENTCTL_SIGNING_KEY"):
        pem = os.environ["AGENTCTL_SIGNING_KEY"].encode()
    else:
        return None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise AttestError(
            "the signing key is not a PEM private key", "openssl genpkey -algorithm ed25519 -out key.pem"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AttestError("the signing key is not an Ed25519 key", "openssl genpkey -algorithm ed25519 -out key.pem")
    return key


def _keyid(public_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return digest(raw)


def envelope(stmt: dict[str, Any], key_path: Path | None) -> tuple[dict[str, Any], bool]:
    """The DSSE envelope; unsigned (no signatures) when no key is configured."""
    payload = canonical(stmt)
    key = _private_key(key_path)
    signatures = []
    if key is not None:
        signature = key.sign(pae(PAYLOAD_TYPE, payload))
        signatures.append({"keyid": _keyid(key.public_key()), "sig": base64.b64encode(signature).decode()})
    return {"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(payload).decode(), "signatures": signatures}, bool(
        signatures
    )


def verify(envelope_text: str, public_key_path: Path, commit: str | None) -> dict[str, Any]:
    """The verified statement; raises :class:`AttestError` on any mismatch."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        env = json.loads(envelope_text)
        payload = base64.b64decode(env["payload"], validate=True)
        signatures = env["signatures"]
        payload_type = env["payloadType"]
    except (ValueError, KeyError, TypeError):
        raise AttestError("not a DSSE envelope", "pass the file written by --format intoto") from None
    if not signatures:
        raise AttestError("the statement is unsigned", "sign it with --key (or AGENTCTL_SIGNING_KEY)")
    try:
        public_key = serialization.load_pem_public_key(public_key_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise AttestError(
            f"cannot load public key {public_key_path}: {exc}", "pass an Ed25519 public key in PEM"
        ) from None
    if not isinstance(public_key, Ed25519PublicKey):
        raise AttestError("the public key is not an Ed25519 key", "pass an Ed25519 public key in PEM")
    valid = False
    for signature in signatures:
        try:
            public_key.verify(base64.b64decode(signature["sig"]), pae(payload_type, payload))
            valid = True
            break
        except (InvalidSignature, ValueError, KeyError, TypeError):
            continue
    if not valid:
        raise AttestError("signature verification failed: the statement was altered or signed by another key", "")
    stmt = json.loads(payload)
    if stmt.get("_type") != STATEMENT_TYPE:
        raise AttestError("payload is not an in-toto Statement v1", "")
    if commit is not None:
        subjects = [s.get("digest", {}).get("gitCommit") for s in stmt.get("subject", [])]
        if commit not in subjects:
            raise AttestError(
                f"the statement is about {subjects}, not commit {commit}", "verify against the commit it was made for"
            )
    return dict(stmt)
