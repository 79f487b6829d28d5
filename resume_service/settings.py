from runtime.settings import ServiceSettings


class ResumeSettings(ServiceSettings):
    """resume_service reads only the shared settings (see `.env.example`)."""
