"""Errors of FilterInferences. Each class name is the error name the ASL matches."""


class InvalidEvent(ValueError):
    """The event is missing a key or a key has the wrong type; the message names it."""


class InvalidConfiguration(ValueError):
    """CONFIDENCE_THRESHOLD is not a number in 0..1 (a deployment mistake, found at cold start)."""


class ThresholdConfidenceNotMet(Exception):
    """The model is not sure enough to answer; the message gives the confidence and the threshold."""
