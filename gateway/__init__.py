"""gateway: the only public entry. Resolves the session cookie to a user, guards the public
API (CSRF, CORS, rate limits, body limit) and forwards `/api/*` to the services with the
signed internal identity header."""
