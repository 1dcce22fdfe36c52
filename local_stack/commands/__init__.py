"""``python -m local_stack COMMAND``: the parser (``cli``), the stack options the commands
share (``stack_options``), and one module per command."""
