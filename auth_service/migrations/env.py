from auth_service.tables import SCHEMA
from runtime.migrations import run_env

run_env(SCHEMA)
