"""How the cloud commands name the SageMaker resources they create, one rule for all of them
(deploy's models and endpoint configs, the smoke test's endpoint)."""

from __future__ import annotations

import time

MAX_NAME = 63  # SageMaker resource names: [a-zA-Z0-9](-*[a-zA-Z0-9])*, at most 63 characters


def versioned_name(endpoint_name: str, now: float | None = None) -> str:
    """`<endpoint>-YYYYMMDD-HHMMSS`, cut to SageMaker's 63 characters."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"{endpoint_name[: MAX_NAME - len(stamp) - 1].rstrip('-')}-{stamp}"
