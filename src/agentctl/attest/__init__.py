"""Signed, verifiable evidence: in-toto statements in DSSE envelopes, signed with Ed25519."""
