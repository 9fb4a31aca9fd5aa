"""Command-line interface: Typer app and rich rendering."""
