"""The typed input of FilterInferences: the output of ClassifyImage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exceptions import InvalidEvent

# [p_bicycle, p_motorcycle], checked as ClassifyImage checks the endpoint's answer (a copy:
# each function deploys alone; tests/unit/test_domain_facts.py proves the copies agree).
NUMBER_OF_CLASSES = 2
# Probabilities that should sum to 1 may be off by float rounding, not by more.
SUM_TOLERANCE = 1e-3


# where the answer was asked for, as the state machine writes it in "execution": {"context": ...}
# (template.yaml's MetricsContext): a one-photo execution under LowConfidenceAction Fail, one
# under Review, a batch's photo. Only a "photo" refusal fails an execution.
CONTEXTS = ("photo", "review", "batch")


@dataclass(frozen=True)
class Classification:
    inferences: tuple[float, ...]
    event: dict
    context: str | None = None  # None: invoked outside a state machine (sam local invoke, a test)

    @property
    def confidence(self) -> float:
        return max(self.inferences)

    @classmethod
    def from_event(cls, event: Any) -> Classification:
        if not isinstance(event, dict):
            raise InvalidEvent(f"event must be a JSON object, got {type(event).__name__}")
        if "inferences" not in event:
            raise InvalidEvent("missing required key 'inferences'")
        inferences = event["inferences"]
        if (
            not isinstance(inferences, list)
            or len(inferences) != NUMBER_OF_CLASSES
            or not all(isinstance(p, int | float) and not isinstance(p, bool) for p in inferences)
            # compared as they are: NaN and infinities fail, and a huge int does not overflow float()
            or not all(0.0 <= p <= 1.0 for p in inferences)
            or abs(sum(inferences) - 1.0) > SUM_TOLERANCE
        ):
            raise InvalidEvent(
                f"'inferences' must be [p_bicycle, p_motorcycle], two probabilities in 0..1 "
                f"summing to 1, got {str(inferences)[:120]}"
            )
        return cls(inferences=tuple(float(p) for p in inferences), event=event, context=_context(event))


def _context(event: dict) -> str | None:
    execution = event.get("execution")
    if execution is None:
        return None
    if not isinstance(execution, dict):
        raise InvalidEvent(f"'execution' must be an object, got {type(execution).__name__}")
    context = execution.get("context")
    if context is not None and context not in CONTEXTS:
        raise InvalidEvent(
            f"'execution.context' must be one of {', '.join(CONTEXTS)}, got {str(context)[:40]!r}"
        )
    return context
