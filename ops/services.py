"""Every service's registration (runtime.registry), in the order migrations run and the CLI
lists them, and finding one by the name an operator types."""

from ai_service.registration import REGISTRATION as AI
from auth_service.registration import REGISTRATION as AUTH
from compile_service.registration import REGISTRATION as COMPILE
from resume_service.registration import REGISTRATION as RESUME
from runtime.registry import ServiceRegistration

SERVICES: tuple[ServiceRegistration, ...] = (AUTH, RESUME, COMPILE, AI)


class UnknownService(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no service {name!r}; services: "
                         f"{', '.join(s.name for s in SERVICES)}")


def registration(name: str) -> ServiceRegistration:
    """The service named `name`: `resume_service`, or its schema's name `resume`."""
    for service in SERVICES:
        if name in (service.name, service.schema):
            return service
    raise UnknownService(name)


def registration_of_schema(schema: str) -> ServiceRegistration | None:
    return next((s for s in SERVICES if s.schema == schema), None)
