"""The local stack's processes and their servers: the child-process protocol (start, ready
line, stop) that every child uses, the WSGI server, the S3 and endpoint servers, the Lambda
execution environments, ``up`` run as a child, and ``services``, which starts them all."""
