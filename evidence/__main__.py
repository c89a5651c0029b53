from evidence.cli import cli

cli()
