"""live_service: the signed-in user's own happenings as server-sent events (GET /events)."""
