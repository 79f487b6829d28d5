"""auth_service: sign-in with any OpenID Connect issuer (Google in production), users kept as
event streams with a `users` read model, and server-side sessions in Redis."""
