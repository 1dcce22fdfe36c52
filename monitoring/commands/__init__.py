"""The commands of ``python -m monitoring``: one module per command, each with its options
(``add_arguments``) and its ``run``; ``monitoring/cli.py`` only builds the parser and dispatches."""
