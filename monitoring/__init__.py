"""Reports on what the SageMaker endpoint captured: is the model still answering confidently?

``python -m monitoring report --capture SRC --out DIR`` reads SageMaker data-capture JSON Lines
from a local folder or ``s3://bucket/prefix`` and writes ``summary.json``, PNG plots, a gallery
of the least confident inputs and a self-contained ``report.html``; with ``--baseline``, verdicts
on drift against the model's ``baseline.json`` (:mod:`monitoring.drift`); with ``--reviewed``, what
people said about the unsure photos (:mod:`monitoring.reviews`). Nothing runs at import.
"""

from scones_core.project import DEFAULT_CONFIDENCE_THRESHOLD

DEFAULT_THRESHOLD = DEFAULT_CONFIDENCE_THRESHOLD
"""The template's ``ConfidenceThreshold`` default: the same cut the FilterInferences step applies."""
