"""Who a share's viewer is, without I/O: a salted hash that changes with the hour and never
holds the address; bots by their user agent."""

import pytest

from resume_service.share_views import is_bot, viewer_hash

SALT = "a-salt-of-sixteen-chars"


def test_the_viewer_hash_is_stable_within_an_hour_and_changes_with_it() -> None:
    first = viewer_hash(SALT, "203.0.113.7", "Firefox", 100)
    assert first == viewer_hash(SALT, "203.0.113.7", "Firefox", 100)
    assert first != viewer_hash(SALT, "203.0.113.7", "Firefox", 101)
    assert first != viewer_hash(SALT, "203.0.113.8", "Firefox", 100)
    assert first != viewer_hash("another-salt-value", "203.0.113.7", "Firefox", 100)
    assert "203.0.113.7" not in first


@pytest.mark.parametrize("agent", ["Googlebot/2.1", "Slackbot-LinkExpanding 1.0",
                                   "curl/8.5.0", "facebookexternalhit/1.1",
                                   "Mozilla/5.0 (compatible; bingbot/2.0)", ""])
def test_crawlers_and_link_previews_are_bots(agent: str) -> None:
    assert is_bot(agent)


def test_a_browser_is_not_a_bot() -> None:
    assert not is_bot("Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0")
