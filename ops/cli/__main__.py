"""`python -m runtime.cli ...`: the same CLI as `rb`, from a checkout."""

from runtime.cli import app

app()
