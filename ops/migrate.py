"""Run every service's migrations: ``python -m runtime.migrate``."""

from runtime.migrations import upgrade_all

if __name__ == "__main__":
    for service in upgrade_all():
        print(f"migrated {service}")
