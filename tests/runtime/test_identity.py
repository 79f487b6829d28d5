from runtime.identity import IdentitySigner

SIGNER = IdentitySigner("a-secret-of-sufficient-length", ttl_seconds=60)


def test_signed_identity_verifies_to_its_user() -> None:
    assert SIGNER.verify(SIGNER.sign("user-1")) == "user-1"


def test_expired_identity_is_refused() -> None:
    token = SIGNER.sign("user-1", now=1000.0)
    assert SIGNER.verify(token, now=1000.0 + 61) is None


def test_tampered_or_foreign_identity_is_refused() -> None:
    token = SIGNER.sign("user-1")
    _, _, expires, signature = token.split(".")
    assert SIGNER.verify(f"v1.user-2.{expires}.{signature}") is None
    assert SIGNER.verify(IdentitySigner("another-secret-entirely").sign("user-1")) is None
    assert SIGNER.verify("garbage") is None
