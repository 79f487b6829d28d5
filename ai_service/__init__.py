"""ai_service: Gemini ratings of resumes as event-sourced jobs, never paid twice for the same
content, limited per user, run by a work-queue worker."""
