"""`python -m voltline` is the `voltline` command."""

from voltline.cli import app

app()
