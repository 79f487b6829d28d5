"""Pure rules of signing in: safe redirect targets and stable user ids."""

import pytest

from auth_service.domain import Profile, safe_next_path, signed_in, user_id_for


@pytest.mark.parametrize("path", ["/", "/resumes", "/resumes/1?tab=a#x", "/a/b%2Fc"])
def test_same_site_paths_are_accepted_as_next(path: str) -> None:
    assert safe_next_path(path) == path


@pytest.mark.parametrize("target", [
    "https://evil.example", "//evil.example", "/\\evil.example", "\\\\evil", "evil.example",
    "javascript:alert(1)", "/ok\nx", "/tab\there", "", None, "/" + "a" * 3000,
])
def test_outside_or_odd_targets_are_refused_as_next(target: str | None) -> None:
    assert safe_next_path(target) is None


def test_user_id_is_stable_per_issuer_and_subject() -> None:
    assert user_id_for("https://accounts.google.com", "1") == user_id_for(
        "https://accounts.google.com", "1")
    assert user_id_for("https://accounts.google.com", "1") != user_id_for("dev", "1")
    assert user_id_for("a", "b\nc") != user_id_for("a\nb", "c")


def test_sign_in_event_carries_the_profile() -> None:
    event = signed_in(Profile("iss", "sub", "a@b.c", "A", "https://p"))
    assert event.user_id == user_id_for("iss", "sub")
    assert (event.email, event.name, event.picture, event.method) == (
        "a@b.c", "A", "https://p", "oidc")
