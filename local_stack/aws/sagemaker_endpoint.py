"""A local SageMaker Runtime endpoint: ``POST /endpoints/{EndpointName}/invocations``.

An unchanged boto3 ``sagemaker-runtime`` client reaches it through ``endpoint_url`` or the
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` setting and gets what AWS answers: the body
``[p_bicycle, p_motorcycle]`` as ``application/json`` from the ONNX model that ``training_job``
ships, and on failure SageMaker's own error shapes, so that boto3 raises the same
``ClientError`` codes:

=========================================  ======  =====================  ==================
case                                       status  boto3 error code       retried by boto3
=========================================  ======  =====================  ==================
endpoint name is not this endpoint's       400     ValidationError        no
content type not image/png|jpeg|x-image    424     ModelError (415)       no
body is not a decodable image              424     ModelError (400)       no
Accept not JSON                            424     ModelError (406)       no
model file missing / fails to load         424     ModelError (500)       no
``fail_rate`` fault injected               400     ThrottlingException    yes (its own policy)
serverless, MaxConcurrency in flight       400     ThrottlingException    yes (its own policy)
queued past SageMaker's 60 s               424     ModelError (0)         no
anything unexpected                        500     InternalFailure        yes
=========================================  ======  =====================  ==================

The code comes in the ``X-Amzn-ErrorType`` header (what botocore's rest-json parser reads
first), the message in the JSON body. A ``ModelError`` is what SageMaker answers whenever the
model container itself answered an error: its body carries the container's status and message
(``OriginalStatusCode``, ``OriginalMessage``) and the log stream, which boto3 parses into the
error response. A missing model is a ``ModelError`` with ``OriginalStatusCode`` 500, as a
container whose model failed to load answers every invocation with a server error; it is
permanent (no retry helps until the model is trained), so it is not a ``ServiceUnavailable``,
which clients retry. The model is loaded on the first request and again on each request until
it loads, so the endpoint can be started before the model is trained.

With a ``capacity`` (:mod:`local_stack.aws.endpoint_capacity`) the endpoint serves like its
instances: so many requests at once, each for the service time (the model's, measured here once
it loads, unless the capacity sets one), the others queued or, serverless, throttled; a cold
start after idle. A caller whose read timeout passes while its request waits sees botocore's
``ReadTimeoutError``, as it would against SageMaker.

Successful invocations (only those, as SageMaker captures request and response) go to an
optional :class:`local_stack.aws.data_capture.DataCaptureWriter`.

Stopping (``stop_serving``, which the server calls before it stops) is an instance terminated:
every request still queued, or in its service time, or arriving meanwhile, has its connection
dropped without an answer, so its caller sees a connection error at once, however long the queue;
``close`` then writes what the capture holds, within ``CAPTURE_CLOSE_SECONDS``.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local_stack.aws.data_capture import DataCaptureWriter
from local_stack.aws.endpoint_capacity import EndpointCapacity, Schedule, Slot, Throttled
from local_stack.aws.iam.enforcement import endpoint_refusal
from local_stack.settings import ACCOUNT_ID, REGION, SAMPLES_DIR
from scones_core.wsgi_server import DROP_CONNECTION
from training_job.local_model import MODEL_PATH
from training_job.local_model.inference import load_session, predict_probabilities
from training_job.local_model.preprocess import UndecodableImage, decode_image

MEASURED_RUNS = 20  # inferences timed, after one untimed, for the measured service time
# what ``close`` gives the capture's last writes: within the endpoint process's stop bound
# (processes.child_server.STOP_SECONDS), with time left for the server's own stop
CAPTURE_CLOSE_SECONDS = 3.0

logger = logging.getLogger(__name__)

SUPPORTED_CONTENT_TYPES = frozenset({"image/png", "image/jpeg", "application/x-image"})
JSON = "application/json"
_ACCEPTED = frozenset({JSON, "*/*", "application/*"})


class _Failure(Exception):
    """An error answer: SageMaker's error code, HTTP status, message and extra body fields."""

    def __init__(self, code: str, status: int, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.code, self.status, self.message, self.fields = code, status, message, fields


class _Dropped(Exception):
    """The endpoint stopped while this request waited: no answer, the connection goes."""


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


class LocalEndpoint:
    """The WSGI application of one endpoint serving one ONNX model (one ``AllTraffic`` variant).

    ``fail_rate`` (0..1) answers that share of requests, drawn independently from a RNG seeded
    with ``seed``, with ``ThrottlingException``; ``latency_ms`` sleeps before every answer.
    """

    def __init__(
        self,
        endpoint_name: str,
        model_path: Path | str = MODEL_PATH,
        capture: DataCaptureWriter | None = None,
        fail_rate: float = 0.0,
        latency_ms: float = 0.0,
        seed: int | None = None,
        *,
        capacity: EndpointCapacity | None = None,
        clock: Any = time.monotonic,
        sleep: Any = time.sleep,
        variant: str = "AllTraffic",
        account_id: str = ACCOUNT_ID,
        region: str = REGION,
    ) -> None:
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be within 0..1, got {fail_rate}")
        if latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {latency_ms}")
        self.endpoint_name = endpoint_name
        self.model_path = Path(model_path)
        self.capture = capture
        self.fail_rate = fail_rate
        self.latency_s = latency_ms / 1000.0
        self.variant = variant
        self.account_id = account_id
        self.region = region
        self._rng = random.Random(seed)
        self.capacity = capacity
        self._clock, self._sleep = clock, sleep
        self._stopping = threading.Event()
        self._schedule: Schedule | None = None
        self._session: Any = None
        self._load_lock = threading.Lock()
        self._urls = Map(
            [
                Rule("/endpoints/<endpoint_name>/invocations", methods=["POST"], endpoint="invoke"),
                Rule("/ping", methods=["GET"], endpoint="ping"),
            ]
        )
        self._log_group = f"/aws/sagemaker/Endpoints/{endpoint_name}"

    # -- the model ----------------------------------------------------------------------------

    def load(self) -> None:
        """Load the model now (instead of on the first request). Raises FileNotFoundError when
        the model file is missing, or onnxruntime's error when it does not load."""
        if self._session is not None:
            return
        with self._load_lock:
            if self._session is None:
                if not self.model_path.is_file():
                    raise FileNotFoundError(f"model file {self.model_path} not found")
                session = load_session(self.model_path)
                if self.capacity is not None:
                    self._schedule = self._new_schedule(self.capacity, session)
                self._session = session

    def _new_schedule(self, capacity: EndpointCapacity, session: Any) -> Schedule:
        service_seconds = capacity.service_seconds
        if service_seconds is None:
            service_seconds = measure_service_seconds(session)
            logger.info("endpoint %s: measured %.2f ms", self.endpoint_name, 1e3 * service_seconds)
        return Schedule(capacity, service_seconds)

    @property
    def service_seconds(self) -> float | None:
        """A request's service time, once the model has loaded (None without a capacity)."""
        return self._schedule.service_seconds if self._schedule is not None else None

    def _model(self) -> Any:
        if self._session is None:
            try:
                self.load()
            except Exception as error:
                logger.error("endpoint %s: the model does not load: %s", self.endpoint_name, error)
                raise self._model_error(500, f"The model failed to load: {error}") from error
        return self._session

    # -- WSGI ---------------------------------------------------------------------------------

    def stop_serving(self) -> None:
        """From now on every request waiting here, and every new one, is dropped (``_Dropped``)."""
        self._stopping.set()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        try:
            if self._stopping.is_set():
                raise _Dropped
            rule, arguments = self._urls.bind_to_environ(environ).match()
            if rule == "ping":
                response = Response(b"", status=200)
            else:
                refused = endpoint_refusal(
                    request.headers, arguments["endpoint_name"], self.region, self.account_id
                )
                if refused is not None:  # IAM at call time (aws.iam): sagemaker:InvokeEndpoint
                    raise _Failure(*refused)
                response = self._invoke(request, arguments["endpoint_name"])
        except _Failure as failure:
            response = self._error_response(failure)
        except _Dropped:
            drop = environ.get(DROP_CONNECTION)
            if drop is not None:
                drop()
            # what a server without DROP_CONNECTION sends instead (cheroot's goes nowhere)
            response = self._error_response(_Failure("ServiceUnavailable", 503, "The endpoint stopped."))
        except (NotFound, MethodNotAllowed) as error:
            response = self._error_response(
                _Failure(
                    "UnknownOperationException", 404, f"{request.method} {request.path}: {error.description}"
                )
            )
        except HTTPException as error:  # e.g. a malformed request werkzeug refuses
            response = self._error_response(
                _Failure("ValidationError", error.code or 400, str(error.description))
            )
        except Exception:
            logger.exception("endpoint %s: unexpected error", self.endpoint_name)
            response = self._error_response(_Failure("InternalFailure", 500, "An internal error occurred."))
        return response(environ, start_response)

    def _invoke(self, request: Request, endpoint_name: str) -> Response:
        if self.latency_s:
            self._sleep_until(self._clock() + self.latency_s)
        if self.fail_rate and self._rng.random() < self.fail_rate:
            raise _Failure("ThrottlingException", 400, "Rate exceeded")
        if endpoint_name != self.endpoint_name:
            raise _Failure(
                "ValidationError", 400, f"Endpoint {endpoint_name} of account {self.account_id} not found."
            )
        slot = self._wait_for_a_worker() if self.capacity is not None else None
        response, capture = self._serve(request)
        if slot is not None:
            self._sleep_until(slot.finish_at)
        if capture is not None:  # only an answer that goes out, as SageMaker captures what it sent
            capture()
        return response

    def _wait_for_a_worker(self) -> Slot:
        """Take this request's place in the schedule and wait until a worker serves it; raise
        SageMaker's answer where it is throttled or would wait past the invocation timeout."""
        self._model()  # the service time is the loaded model's
        try:
            slot = self._schedule.take(self._clock())  # type: ignore[union-attr]
        except Throttled as error:
            raise _Failure("ThrottlingException", 400, f"Rate exceeded: {error}") from None
        if slot.timed_out:
            self._sleep_until(slot.answer_at)
            raise self._model_error(
                0,
                "Your invocation timed out while waiting for a response from container primary. "
                "Review the latency metrics for each container in Amazon CloudWatch, resolve the "
                "issue, and try again.",
            )
        self._sleep_until(slot.start_at)
        return slot

    def _sleep_until(self, moment: float) -> None:
        """Wait until ``moment``; raise ``_Dropped`` as soon as the endpoint stops."""
        remaining = moment - self._clock()
        if remaining > 0:
            if self._sleep is time.sleep:
                self._stopping.wait(remaining)
            else:  # a test's clock
                self._sleep(remaining)
        if self._stopping.is_set():
            raise _Dropped

    def _serve(self, request: Request) -> tuple[Response, Callable[[], None] | None]:
        """What the model container does with one request: its answer, and what captures it
        (None: no capture) once it is sent."""
        content_type = request.headers.get("Content-Type", "")
        if _media_type(content_type) not in SUPPORTED_CONTENT_TYPES:
            raise self._model_error(
                415,
                f"Content type {content_type or '(none)'} is not supported by this algorithm; "
                f"use one of {', '.join(sorted(SUPPORTED_CONTENT_TYPES))}.",
            )
        accept = request.headers.get("Accept")
        if accept and not any(_media_type(part) in _ACCEPTED for part in accept.split(",")):
            raise self._model_error(
                406, f"Accept type {accept} is not supported by this algorithm; use {JSON}."
            )
        body = request.get_data(cache=False)
        try:
            image = decode_image(body)
        except UndecodableImage as error:
            raise self._model_error(
                400,
                f"unable to evaluate payload provided: the body ({len(body)} bytes) is not a decodable image",
            ) from error
        probabilities = predict_probabilities(self._model(), image)[0]
        answer = json.dumps([float(p) for p in probabilities]).encode()
        capture = None
        if self.capture is not None:
            capture = functools.partial(self._capture, request, content_type, body, answer)
        response = Response(
            answer,
            status=200,
            headers={
                "Content-Type": JSON,
                "x-Amzn-Invoked-Production-Variant": self.variant,
                "x-amzn-RequestId": str(uuid.uuid4()),
            },
        )
        return response, capture

    def _capture(self, request: Request, content_type: str, body: bytes, answer: bytes) -> None:
        """Capture is best effort, as on SageMaker: it never fails the invocation."""
        try:
            self.capture.capture(  # type: ignore[union-attr]
                input_body=body,
                input_content_type=content_type,
                output_body=answer,
                output_content_type=JSON,
                inference_id=request.headers.get("X-Amzn-SageMaker-Inference-Id"),
            )
        except Exception:
            logger.exception("endpoint %s: data capture failed", self.endpoint_name)

    # -- errors -------------------------------------------------------------------------------

    def _model_error(self, original_status: int, original_message: str) -> _Failure:
        # status 0: no answer from the container in time, which SageMaker calls a server error
        kind = "client" if 0 < original_status < 500 else "server"
        return _Failure(
            "ModelError",
            424,
            f'Received {kind} error ({original_status}) from primary with message "{original_message}". '
            f"See the local endpoint's log (log group {self._log_group}) in account {self.account_id} "
            "for more information.",
            ErrorCode=f"{kind.upper()}_ERROR_FROM_MODEL",
            OriginalStatusCode=original_status,
            OriginalMessage=original_message,
            LogStreamArn=f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{self._log_group}",
        )

    @staticmethod
    def _error_response(failure: _Failure) -> Response:
        # ModelError bodies spell their fields as the model does (Message, OriginalMessage, ...)
        body = {"Message" if failure.fields else "message": failure.message, **failure.fields}
        return Response(
            json.dumps(body),
            status=failure.status,
            headers={
                "Content-Type": JSON,
                "X-Amzn-ErrorType": failure.code,
                "x-amzn-RequestId": str(uuid.uuid4()),
            },
        )

    def close(self) -> None:
        """Drop what waits (``stop_serving``), then write and stop the data capture, if any,
        within ``CAPTURE_CLOSE_SECONDS``: what cannot be written by then is dropped, as
        SageMaker's capture is best effort ("to prevent impact to inference requests, Data
        Capture stops capturing requests at high levels of disk usage":
        https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html),
        and ``CaptureUploadError`` says how many."""
        self.stop_serving()
        if self.capture is not None:
            self.capture.close(timeout=CAPTURE_CLOSE_SECONDS)


def measure_service_seconds(session: Any, runs: int = MEASURED_RUNS) -> float:
    """The median time this machine takes to decode a sample photo and classify it."""
    samples = sorted(SAMPLES_DIR.glob("*.png"))
    body = samples[0].read_bytes() if samples else None
    times = []
    for run in range(runs + 1):
        started = time.perf_counter()
        image = decode_image(body) if body is not None else np.zeros((3, 32, 32), dtype=np.float32)
        predict_probabilities(session, image)
        if run:  # the first warms caches
            times.append(time.perf_counter() - started)
    return statistics.median(times)
