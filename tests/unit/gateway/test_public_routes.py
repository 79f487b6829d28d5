"""Share links through the gateway, without I/O: every path under /api/public/ goes to
resume_service without a session, and of the caller's cookies only the share's unlock cookie
goes with it."""

from gateway.proxy import _share_cookie
from gateway.routing import is_public, route


def test_share_links_are_public_and_served_by_resume_service() -> None:
    target = route("/api/public/abc/page", "/api/public/abc/page")
    assert target is not None and target.public and target.service == "resume"
    assert target.upstream_path == "/public/abc/page"
    assert is_public("/api/public/{slug}") and is_public("/api/auth/login")
    assert not is_public("/api/resume/all") and not is_public("/api/publicity")


def test_only_the_unlock_cookie_is_passed_on() -> None:
    assert _share_cookie("rb_session=secret; rb_share=signed; other=1") == [
        (b"cookie", b"rb_share=signed")]
    assert _share_cookie("rb_session=secret") == []
