"""``python -m netmon`` = the ``netmon`` command."""

from netmon.cli import app

app()
