"""The commands of ``python -m training_job``: one module per command, each with its options
(``add_arguments``) and its ``run``; ``training_job/cli.py`` only builds the parser and dispatches.

Nothing heavy is imported until a command runs: ``--help`` never imports boto3, the SageMaker SDK
or PyTorch.
"""
