import pytest

from runtime.grants import InvalidGrant, signed, verified

SECRET = "a-secret-of-the-test-run-0123456789"


def test_a_grant_holds_for_its_purpose_until_it_expires() -> None:
    body, signature = signed(SECRET, "share-files", {"owner_id": "u1"})
    assert verified(SECRET, "share-files", body, signature)["owner_id"] == "u1"
    with pytest.raises(InvalidGrant):
        verified(SECRET, "other-purpose", body, signature)
    with pytest.raises(InvalidGrant):
        verified("another-secret-of-the-test-run-0123", "share-files", body, signature)
    expired, expired_signature = signed(SECRET, "share-files", {"owner_id": "u1"}, seconds=-1)
    with pytest.raises(InvalidGrant):
        verified(SECRET, "share-files", expired, expired_signature)


def test_a_changed_body_or_a_missing_signature_is_refused() -> None:
    body, signature = signed(SECRET, "share-files", {"owner_id": "u1"})
    with pytest.raises(InvalidGrant):
        verified(SECRET, "share-files", body.replace(b"u1", b"u2"), signature)
    with pytest.raises(InvalidGrant):
        verified(SECRET, "share-files", body, None)
