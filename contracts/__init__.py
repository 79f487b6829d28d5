"""Schemas every service shares: the event envelope, event payloads, the resume document
and the names of the bus topology. Nothing here does I/O."""
