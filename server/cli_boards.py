"""CLI commands: boards."""

import click

groups: list[click.Group] = []
