"""Runtime plumbing shared by every service: settings, database, event store, outbox relay,
bus topology and consumers, internal identity, read cache and HTTP error handling."""
