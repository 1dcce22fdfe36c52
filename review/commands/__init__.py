"""The commands of ``python -m review``: one module per command, each with its options
(``add_arguments``) and its ``run``; ``review/cli.py`` only builds the parser and dispatches."""
