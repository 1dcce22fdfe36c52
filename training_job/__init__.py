"""Build the model and the SageMaker endpoint that the SAM stack takes as ``EndpointName``.

Nothing here does work at import: the SageMaker SDK and PyTorch are imported by the
commands that need them, never by the Lambdas or the local stack.
"""
