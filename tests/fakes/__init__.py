"""Fakes of outside services, each a real HTTP server on 127.0.0.1 that the real client
library talks to."""
