"""`python -m ops.cli ...`: the same CLI as `rb`, from a checkout."""

from ops.cli import app

app()
