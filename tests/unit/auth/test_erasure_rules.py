"""Pure rules of an account erasure: what confirms it, how fresh the sign-in must be, and
which id a person signing in again after it gets."""

import pytest

from auth_service.domain import (
    ERASURE_PHRASE,
    ErasureNotConfirmed,
    ReauthenticationRequired,
    check_erasure,
    new_account_id,
    user_id_for,
)

EMAIL = "Ada@Example.com"
NOW = 1_000_000.0


@pytest.mark.parametrize("confirm", [EMAIL, "ada@example.com", " ADA@EXAMPLE.COM ",
                                     ERASURE_PHRASE, "Erase My Account"])
def test_the_email_or_the_phrase_in_any_case_confirms(confirm: str) -> None:
    check_erasure(confirm, EMAIL, NOW - 60, NOW, 600)


@pytest.mark.parametrize("confirm", ["yes", "ada@example.org", "erase", "erase my account!"])
def test_anything_else_is_not_a_confirmation(confirm: str) -> None:
    with pytest.raises(ErasureNotConfirmed):
        check_erasure(confirm, EMAIL, NOW, NOW, 600)


def test_an_account_without_email_takes_only_the_phrase() -> None:
    with pytest.raises(ErasureNotConfirmed):
        check_erasure("", "", NOW, NOW, 600)
    check_erasure(ERASURE_PHRASE, "", NOW, NOW, 600)


def test_a_sign_in_older_than_the_limit_must_be_made_again() -> None:
    check_erasure(EMAIL, EMAIL, NOW - 600, NOW, 600)
    with pytest.raises(ReauthenticationRequired):
        check_erasure(EMAIL, EMAIL, NOW - 601, NOW, 600)


def test_a_new_account_never_gets_the_derived_id_back() -> None:
    derived = user_id_for("https://accounts.google.com", "123")
    assert len({new_account_id() for _ in range(100)} | {derived}) == 101
