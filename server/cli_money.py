"""CLI commands: money."""

import click

groups: list[click.Group] = []
