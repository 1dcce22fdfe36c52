"""The local SageMaker Runtime endpoint in a process of its own, as a real endpoint is a server
of its own: the model's inference and the endpoint's HTTP work use the second core instead of
taking turns with moto and the handlers under one interpreter lock.

The parent starts ``python -m local_stack.endpoint_process SETTINGS_JSON``, reads one line
(``ready URL`` or ``error MESSAGE``), and stops it by closing the child's stdin, which also
happens when the parent dies, so the endpoint never outlives the stack. A subprocess rather
than ``multiprocessing``: its spawn start method runs the parent's ``__main__`` again, which a
script without an ``if __name__ == "__main__"`` guard does not survive.

The endpoint's data capture still goes to the local S3, through moto's server, over HTTP; it is
flushed before the process exits, and a failed flush is its exit code.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from local_stack.runner import LocalStackError

_STOP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class EndpointSettings:
    """What the endpoint's process needs; plain values, so that they travel as JSON."""

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

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "model_path": str(self.model_path)})

    @classmethod
    def from_json(cls, text: str) -> EndpointSettings:
        fields = json.loads(text)
        return cls(**{**fields, "model_path": Path(fields["model_path"])})


@dataclass
class EndpointProcess:
    """A running endpoint process: ``url`` to call it, ``close`` to flush its capture and stop it."""

    process: subprocess.Popen
    url: str

    def close(self) -> None:
        """Stop it; its data capture is flushed into S3 first. Raise if that flush failed."""
        if self.process.poll() is None:
            self.process.stdin.close()  # the signal to stop
            try:
                self.process.wait(timeout=_STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise LocalStackError(
                    f"the local endpoint did not stop within {_STOP_TIMEOUT_SECONDS} s; "
                    "its data capture may be lost"
                ) from None
        self.process.stdout.close()
        if self.process.returncode != 0:
            raise LocalStackError(
                f"the local endpoint exited with code {self.process.returncode} (its error is above); "
                "its data capture may be incomplete"
            )


def start_endpoint_process(settings: EndpointSettings) -> EndpointProcess:
    """Start the endpoint in a new process and wait until it serves; raise if it cannot start."""
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack.endpoint_process", settings.to_json()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        status, _, detail = process.stdout.readline().strip().partition(" ")
    except BaseException:
        process.kill()
        process.wait()
        raise
    if status != "ready":
        process.kill()
        process.wait()
        reason = detail if status == "error" else f"its process exited with code {process.returncode}"
        raise LocalStackError(f"the local endpoint did not start: {reason}")
    return EndpointProcess(process, detail)


def _serve(settings: EndpointSettings) -> int:
    """The endpoint process: serve until stdin closes (or SIGTERM), then flush and exit."""
    # Ctrl-C reaches the whole process group; the parent decides when we stop, after the last call
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # stop, but flush first
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
        print(f"error {type(error).__name__}: {error}", flush=True)
        return 1
    print(f"ready {handle.url}", flush=True)
    sys.stdout = sys.stderr  # nobody reads our stdout any more

    def wait_for_end_of_input() -> None:
        sys.stdin.read()  # returns when the parent closes our stdin, or dies
        stop.set()

    threading.Thread(target=wait_for_end_of_input, daemon=True).start()
    try:
        while not stop.wait(1.0):  # a timeout, so that SIGTERM's handler gets to run
            pass
    finally:
        handle.close()  # flushes the data capture into S3; raises if it cannot
    return 0


if __name__ == "__main__":
    sys.exit(_serve(EndpointSettings.from_json(sys.argv[1])))
