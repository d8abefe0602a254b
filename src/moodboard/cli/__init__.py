"""Command-line interface: thin Typer commands over jobs and services."""
