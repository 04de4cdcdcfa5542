"""The command line (typer only here)."""
