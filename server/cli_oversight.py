"""CLI commands: oversight."""

import click

groups: list[click.Group] = []
