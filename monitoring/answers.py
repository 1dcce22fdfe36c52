"""One answer of the model, the common input of the summary, the drift counts and the plots.

Two sources give answers: a line of SageMaker data capture (:class:`monitoring.capture_records.
CaptureRecord`) and a photo of a BatchClassify run (:class:`monitoring.batch_results.PhotoAnswer`).
Each is a small frozen record with the model's probabilities ``[p_bicycle, p_motorcycle]``, when
it answered and what names it; :class:`Answer` is what the aggregates read of either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from scones_core.project import CLASS_NAMES


class Answer(Protocol):
    """What :class:`monitoring.summary.CaptureSummary`, :class:`monitoring.drift.CaptureCounts`
    and so the plots read of one answer."""

    @property
    def event_id(self) -> str | None: ...  # what names it: the capture's eventId, a batch photo's key

    @property
    def inference_time(self) -> datetime: ...  # aware, UTC

    @property
    def probabilities(self) -> tuple[float, ...]: ...

    @property
    def label_index(self) -> int: ...

    @property
    def label(self) -> str: ...

    @property
    def confidence(self) -> float: ...


class ArgmaxAnswer:
    """``label_index``, ``label`` and ``confidence`` of a record's ``probabilities``: the label is
    the argmax (the first on a tie), the confidence the max, as the workflow's functions take them."""

    __slots__ = ()
    probabilities: tuple[float, ...]

    @property
    def label_index(self) -> int:
        return max(range(len(self.probabilities)), key=self.probabilities.__getitem__)

    @property
    def label(self) -> str:
        return CLASS_NAMES[self.label_index]

    @property
    def confidence(self) -> float:
        return max(self.probabilities)
