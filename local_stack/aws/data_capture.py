"""SageMaker data capture, written by the local endpoint to the local S3.

What a real endpoint with ``DataCaptureConfig`` writes, in the same layout and format, so that
the monitoring code reads local and AWS capture alike:

* key ``<prefix>/<EndpointName>/<VariantName>/YYYY/MM/DD/HH/<mm>-<ss>-<mmm>-<uuid>.jsonl``, the
  hour folder of the records' inference time (UTC), the file named after its first record;
* JSON Lines, one record per served request::

    {"captureData": {"endpointInput": {"observedContentType": "image/png", "mode": "INPUT",
                                       "data": "<base64>", "encoding": "BASE64"},
                     "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                        "data": "[0.97, 0.03]", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "<uuid4>", "inferenceTime": "2026-11-25T12:00:00Z"},
     "eventVersion": "0"}

  ``encoding`` follows SageMaker's default ``CaptureContentTypeHeader``: ``application/json``
  bodies are kept as JSON text, ``text/csv`` as CSV text, anything else (the images) as base64.
  ``inferenceTime`` has whole seconds, as SageMaker writes it; ``inferenceId`` appears only
  when the caller sent one.

Records are buffered and written several to a file: when ``max_records_per_file`` are waiting,
``max_seconds`` after the first one was buffered (a daemon thread), and on ``flush``/``close``.
What is buffered lives only in this process: one that is killed loses at most the records of
its last ``max_seconds`` (and an upload in hand), so an endpoint keeps it short (the local
endpoint's process: one second).
Requests only append to the buffer under a lock; uploads happen outside it, so a slow S3 never
holds a request up. A failed upload is logged and its records go back to the buffer for the next
attempt (at most ``max_pending_records`` are kept; older ones beyond that are dropped and
counted); ``close`` raises :class:`CaptureUploadError` when records are still unsent. A ``close``
with a ``timeout`` (the endpoint's, when its process stops) is bounded: it gives up on S3 at its
first failed write or at the deadline and drops what is left, as the process is going away.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)

_TEXT_ENCODINGS = {"application/json": "JSON", "text/csv": "CSV"}


class CaptureUploadError(RuntimeError):
    """Captured records could not be written to S3 (raised by ``close``)."""


@dataclass(frozen=True, slots=True)
class _Record:
    hour: str  # "YYYY/MM/DD/HH" of the inference time
    file_stem: str  # "mm-ss-mmm" of the inference time
    line: str  # the JSON line, without its newline


def _encode(body: bytes, content_type: str) -> tuple[str, str]:
    """(data, encoding) as SageMaker's default CaptureContentTypeHeader stores a body."""
    encoding = _TEXT_ENCODINGS.get(content_type.split(";", 1)[0].strip().lower())
    if encoding is not None:
        try:
            return body.decode("utf-8"), encoding
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), "BASE64"


def capture_record(
    *,
    input_body: bytes,
    input_content_type: str,
    output_body: bytes,
    output_content_type: str,
    inference_time: datetime,
    event_id: str,
    inference_id: str | None = None,
) -> dict[str, Any]:
    """One data-capture record as a dict (the JSON object of one line)."""
    input_data, input_encoding = _encode(input_body, input_content_type)
    output_data, output_encoding = _encode(output_body, output_content_type)
    metadata = {"eventId": event_id}
    if inference_id is not None:
        metadata["inferenceId"] = inference_id
    metadata["inferenceTime"] = inference_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "captureData": {
            "endpointInput": {
                "observedContentType": input_content_type,
                "mode": "INPUT",
                "data": input_data,
                "encoding": input_encoding,
            },
            "endpointOutput": {
                "observedContentType": output_content_type,
                "mode": "OUTPUT",
                "data": output_data,
                "encoding": output_encoding,
            },
        },
        "eventMetadata": metadata,
        "eventVersion": "0",
    }


class DataCaptureWriter:
    """Buffers capture records and writes them to ``s3://bucket/prefix/...`` as SageMaker does.

    Thread-safe: call :meth:`capture` from any number of request threads.
    """

    def __init__(
        self,
        s3_client: Any,
        *,
        bucket: str,
        prefix: str,
        endpoint_name: str,
        variant: str = "AllTraffic",
        sampling_percentage: int = 100,
        max_records_per_file: int = 100,
        max_seconds: float = 5.0,
        rng: random.Random | None = None,
        max_pending_records: int = 10_000,
    ) -> None:
        if not 0 <= sampling_percentage <= 100:
            raise ValueError(f"sampling_percentage must be within 0..100, got {sampling_percentage}")
        if max_records_per_file < 1:
            raise ValueError(f"max_records_per_file must be >= 1, got {max_records_per_file}")
        if max_seconds <= 0:
            raise ValueError(f"max_seconds must be > 0, got {max_seconds}")
        self._s3 = s3_client
        self.bucket = bucket
        self.key_prefix = "/".join(
            part.strip("/") for part in (prefix, endpoint_name, variant) if part.strip("/")
        )
        self.sampling_percentage = sampling_percentage
        self.max_records_per_file = max_records_per_file
        self.max_seconds = max_seconds
        self.max_pending_records = max(max_pending_records, max_records_per_file)
        self._rng = rng or random.Random()
        self._lock = threading.Condition(threading.Lock())
        self._buffer: list[_Record] = []
        self._first_buffered_at = 0.0  # time.monotonic() when the buffer last became non-empty
        self._retry_not_before = 0.0  # time.monotonic() before which the timer does not retry
        self._closed = False
        self.files_written = 0
        self.records_written = 0
        self.records_dropped = 0
        self._thread = threading.Thread(target=self._run, name="data-capture-flusher", daemon=True)
        self._thread.start()

    # -- the request path ---------------------------------------------------------------------

    def capture(
        self,
        *,
        input_body: bytes,
        input_content_type: str,
        output_body: bytes,
        output_content_type: str,
        inference_time: datetime | None = None,
        event_id: str | None = None,
        inference_id: str | None = None,
    ) -> bool:
        """Buffer one request/response pair; returns whether it was sampled."""
        if self.sampling_percentage < 100 and self._rng.random() * 100 >= self.sampling_percentage:
            return False
        when = (inference_time or datetime.now(UTC)).astimezone(UTC)
        line = json.dumps(
            capture_record(
                input_body=input_body,
                input_content_type=input_content_type,
                output_body=output_body,
                output_content_type=output_content_type,
                inference_time=when,
                event_id=event_id or str(uuid.uuid4()),
                inference_id=inference_id,
            ),
            separators=(",", ":"),
        )
        record = _Record(
            hour=when.strftime("%Y/%m/%d/%H"),
            file_stem=f"{when:%M-%S}-{when.microsecond // 1000:03d}",
            line=line,
        )
        with self._lock:
            if self._closed:
                raise RuntimeError("DataCaptureWriter is closed")
            if not self._buffer:
                self._first_buffered_at = time.monotonic()
                self._lock.notify()
            self._buffer.append(record)
            if len(self._buffer) == self.max_records_per_file:
                self._lock.notify()
        return True

    # -- flushing -----------------------------------------------------------------------------

    def flush(self) -> int:
        """Write every buffered record now; returns how many were written. Failed uploads are
        logged and their records kept for the next flush."""
        with self._lock:
            batch, self._buffer = self._buffer, []
        return self._upload(batch)

    def close(self, timeout: float | None = None) -> None:
        """Stop the background thread and write what is left; raises CaptureUploadError when
        records could not be written. With ``timeout``: within about that many seconds (and one
        S3 call's own timeout), no write tried after the first that failed; what is unsent then
        is dropped."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._lock.notify_all()
        self._thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        with self._lock:
            batch, self._buffer = self._buffer, []
        self._upload(batch, deadline)
        with self._lock:
            unsent, self._buffer = len(self._buffer), []
        if unsent or self.records_dropped:
            raise CaptureUploadError(
                f"{unsent} capture records could not be written to s3://{self.bucket}/{self.key_prefix}"
                f" and are dropped ({self.records_dropped} dropped earlier); see the log for the S3 errors"
            )

    def __enter__(self) -> DataCaptureWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self) -> None:
        """The timer: flush when the buffer is full or its first record is max_seconds old, but
        not before the back-off after a failed upload has passed."""
        while True:
            with self._lock:
                while not self._closed:
                    now = time.monotonic()
                    if not self._buffer:
                        self._lock.wait()
                        continue
                    due = (
                        now
                        if len(self._buffer) >= self.max_records_per_file
                        else self._first_buffered_at + self.max_seconds
                    )
                    due = max(due, self._retry_not_before)
                    if due <= now:
                        break
                    self._lock.wait(due - now)
                if self._closed:
                    return  # close() flushes the rest in its own thread
                batch, self._buffer = self._buffer, []
            self._upload(batch)

    def _upload(self, batch: Sequence[_Record], deadline: float | None = None) -> int:
        """Write the batch as files of at most max_records_per_file records, one hour folder
        per file. Returns the number of records written; puts back the ones that failed. With a
        ``deadline`` (closing): no write is tried past it, nor after one failed."""
        by_hour: dict[str, list[_Record]] = {}
        for record in batch:
            by_hour.setdefault(record.hour, []).append(record)
        written = 0
        failed: list[_Record] = []
        for hour, records in by_hour.items():
            for start in range(0, len(records), self.max_records_per_file):
                chunk = records[start : start + self.max_records_per_file]
                if deadline is not None and (failed or time.monotonic() >= deadline):
                    failed.extend(chunk)
                    continue
                key = f"{self.key_prefix}/{hour}/{chunk[0].file_stem}-{uuid.uuid4()}.jsonl"
                body = ("\n".join(record.line for record in chunk) + "\n").encode("utf-8")
                try:
                    self._s3.put_object(
                        Bucket=self.bucket, Key=key, Body=body, ContentType="application/jsonl"
                    )
                except Exception as error:  # one line: S3 down repeats it every max_seconds
                    logger.error(
                        "data capture: writing %d records to s3://%s/%s failed: %r",
                        len(chunk),
                        self.bucket,
                        key,
                        error,
                    )
                    failed.extend(chunk)
                    continue
                written += len(chunk)
                with self._lock:
                    self.files_written += 1
                    self.records_written += len(chunk)
        if failed:
            self._requeue(failed)
        return written

    def _requeue(self, records: list[_Record]) -> None:
        with self._lock:
            pending = records + self._buffer
            excess = len(pending) - self.max_pending_records
            if excess > 0:
                logger.error("data capture: dropping the %d oldest unsent records", excess)
                self.records_dropped += excess
                pending = pending[excess:]
            self._buffer = pending
            # the next timed attempt comes max_seconds from now: a back-off, not a busy loop
            self._first_buffered_at = time.monotonic()
            self._retry_not_before = self._first_buffered_at + self.max_seconds
            self._lock.notify()
