"""`python -m bertsearch` runs the command line."""

from .cli import cli

cli(prog_name="bertsearch")
