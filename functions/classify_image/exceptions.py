"""Errors of ClassifyImage. Each class name is the error name the ASL matches."""


class InvalidEvent(ValueError):
    """The event is missing a key or a key has the wrong type; the message names it."""


class InvalidConfiguration(ValueError):
    """ENDPOINT_NAME is missing or empty, or a setting (the endpoint timeout, the capture's
    mode, destination or sampling) is not one the template allows: a deployment mistake, found
    at cold start."""


class EndpointError(RuntimeError):
    """The endpoint refused the request or answered something that is not two probabilities;
    the message carries the endpoint's own words. Retrying does not help."""


class EndpointThrottled(RuntimeError):
    """SageMaker throttled the call. Transient: the state machine retries with backoff."""


class EndpointUnavailable(RuntimeError):
    """The endpoint failed transiently (5xx, model not ready, timeout). The state machine retries."""
