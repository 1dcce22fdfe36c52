"""Pure reading of the built-in image-classification algorithm's answer."""

from __future__ import annotations

import json

from exceptions import EndpointError

# The order of the training .lst labels: 0 = bicycle, 1 = motorcycle. A copy of
# scones_core/project.py's, as this package deploys alone; tests/unit/test_domain_facts.py
# proves the two equal, and that this check accepts what the other copies accept.
CLASS_NAMES = ("bicycle", "motorcycle")
# Probabilities that should sum to 1 may be off by float rounding, not by more.
SUM_TOLERANCE = 1e-3


def parse_inferences(body: bytes, *, endpoint_name: str) -> list[float]:
    """``[p_bicycle, p_motorcycle]`` from the endpoint's ``application/json`` answer."""
    try:
        answer = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EndpointError(f"endpoint {endpoint_name} answered non-JSON: {body[:120]!r}") from error
    if (
        not isinstance(answer, list)
        or len(answer) != len(CLASS_NAMES)
        or not all(isinstance(p, int | float) and not isinstance(p, bool) for p in answer)
        # compared as they are: NaN and infinities fail, and a huge int does not overflow float()
        or not all(0.0 <= p <= 1.0 for p in answer)
        or abs(sum(answer) - 1.0) > SUM_TOLERANCE
    ):
        raise EndpointError(
            f"endpoint {endpoint_name} answered {str(answer)[:120]}, not [p_bicycle, p_motorcycle] "
            "probabilities"
        )
    return [float(p) for p in answer]


def label_of(inferences: list[float]) -> tuple[str, float]:
    """The most probable class and its probability (the confidence)."""
    best = max(range(len(inferences)), key=inferences.__getitem__)
    return CLASS_NAMES[best], inferences[best]
