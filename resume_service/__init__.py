"""resume_service: resumes kept as event streams, with a Postgres read model and a Redis
read cache in front of it."""
