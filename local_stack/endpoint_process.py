"""The local SageMaker Runtime endpoint in a process of its own, as a real endpoint is a server
of its own: the model's inference and the endpoint's HTTP work use the second core instead of
taking turns with moto and the handlers under one interpreter lock.

The endpoint's data capture still goes to the local S3, through moto's server, over HTTP.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack.runner import LocalStackError

_START_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class EndpointSettings:
    """What the endpoint's process needs; plain values, so that they cross the process boundary."""

    endpoint_name: str
    model_path: Path
    moto_url: str
    bucket: str
    capture_prefix: str
    sampling_percentage: int = 100
    fail_rate: float = 0.0
    latency_ms: float = 0.0
    seed: int | None = None
    host: str = "127.0.0.1"
    region: str = "us-east-1"


@dataclass
class EndpointProcess:
    """A running endpoint process: ``url`` to call it, ``close`` to flush its capture and stop it."""

    process: Any  # multiprocessing.Process
    stop: Any  # multiprocessing.Event
    url: str

    def close(self) -> None:
        """Stop it; its data capture is flushed into S3 first. Raise if that flush failed."""
        if self.process.exitcode is None:
            self.stop.set()
            self.process.join(timeout=30)
            if self.process.exitcode is None:
                self.process.kill()
                self.process.join()
                raise LocalStackError(
                    "the local endpoint did not stop within 30 s; its data capture may be lost"
                )
        if self.process.exitcode != 0:
            raise LocalStackError(
                f"the local endpoint exited with code {self.process.exitcode} (its error is above); "
                "its data capture may be incomplete"
            )


def start_endpoint_process(settings: EndpointSettings) -> EndpointProcess:
    """Start the endpoint in a new process and wait until it serves; raise if it cannot start."""
    context = multiprocessing.get_context("spawn")  # no fork of a process running server threads
    receive, send = context.Pipe(duplex=False)
    stop = context.Event()
    process = context.Process(
        target=_serve, args=(settings, send, stop, os.getpid()), name="local-endpoint", daemon=True
    )
    process.start()
    send.close()
    try:
        if not receive.poll(_START_TIMEOUT_SECONDS):
            raise LocalStackError(f"the local endpoint did not start within {_START_TIMEOUT_SECONDS} s")
        status, detail = receive.recv()
    except EOFError:  # it died before it could say why (its traceback is on stderr)
        process.join(timeout=10)
        status, detail = "error", f"its process exited with code {process.exitcode}"
    except BaseException:
        process.terminate()
        raise
    finally:
        receive.close()
    if status != "ready":
        process.join(timeout=10)
        raise LocalStackError(f"the local endpoint did not start: {detail}")
    return EndpointProcess(process, stop, detail)


def _serve(settings: EndpointSettings, ready: Any, stop: Any, parent_pid: int) -> None:
    """The endpoint process: serve until ``stop`` (or SIGTERM, or the parent is gone), then flush."""
    # Ctrl-C reaches the whole process group; the parent decides when we stop, after the last call
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    terminated = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: terminated.set())  # stop, but flush first
    try:
        import boto3

        from local_stack.capture import DataCaptureWriter
        from local_stack.endpoint import LocalEndpoint
        from local_stack.wsgi_server import serve

        s3 = boto3.client(
            "s3",
            region_name=settings.region,
            endpoint_url=settings.moto_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        capture = DataCaptureWriter(
            s3,
            bucket=settings.bucket,
            prefix=settings.capture_prefix,
            endpoint_name=settings.endpoint_name,
            sampling_percentage=settings.sampling_percentage,
        )
        endpoint = LocalEndpoint(
            settings.endpoint_name,
            settings.model_path,
            capture=capture,
            fail_rate=settings.fail_rate,
            latency_ms=settings.latency_ms,
            seed=settings.seed,
        )
        handle = serve(endpoint, host=settings.host, port=0, name="endpoint")
    except Exception as error:
        ready.send(("error", f"{type(error).__name__}: {error}"))
        return
    ready.send(("ready", handle.url))
    ready.close()
    try:
        while not stop.wait(1.0) and not terminated.is_set():
            if os.getppid() != parent_pid:  # the parent was killed: nobody will set stop
                break
    finally:
        handle.close()  # flushes the data capture into S3; a failure exits non-zero
