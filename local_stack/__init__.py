"""The local stack: the SAM template's workflow on one machine, no AWS account, no Docker.

moto serves S3 and Step Functions (with its ASL interpreter), our real handlers run the
Lambda tasks in local execution environments (worker processes), and a local SageMaker
Runtime endpoint serves the ONNX model.

Rooms: ``aws/`` (what the stack adds beside moto, moto's internals in ``aws/moto_patches``),
``processes/`` (child processes and their servers), ``client/`` (drives a stack through boto3),
``commands/`` (the CLI); ``errors`` and ``settings`` are shared by all of them.
"""
