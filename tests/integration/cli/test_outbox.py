"""`outbox status` in the scratch database, where no relay runs: what was appended waits."""

import json

from tests.integration.cli.conftest import Cli
from tests.integration.cli.helpers import execute, resume_writer


async def test_outbox_status_counts_what_waits_by_routing_key(
        scratch_cli: Cli, scratch_database_url: str) -> None:
    async with resume_writer(scratch_database_url) as writer:
        resume_id = await writer.create("waiting")
        await writer.update(resume_id, "still waiting")
    [(pending,)] = await execute(scratch_database_url, "SELECT count(*) FROM resume.outbox")
    [(created,)] = await execute(
        scratch_database_url,
        "SELECT count(*) FROM resume.outbox WHERE routing_key = 'resume.ResumeCreated'")

    result = await scratch_cli("outbox", "status", "--json")
    assert result.exit_code == 0, result.output
    [resume] = json.loads(result.stdout)
    assert resume["schema"] == "resume" and resume["pending"] == pending >= 2
    assert resume["by_routing_key"]["resume.ResumeCreated"] == created >= 1
    assert resume["oldest_age_seconds"] >= 0 and resume["relay_active"] is False

    table = await scratch_cli("outbox", "status")
    assert "resume.ResumeUpdated" in table.stdout and "none" in table.stdout
