"""Poll a SageMaker resource until it settles, with a tqdm line showing its status."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from training_job.exceptions import WaitTimeoutError


def wait_for(
    refresh: Callable[[], tuple[str, str]],
    *,
    done: Collection[str],
    what: str,
    poll_seconds: float = 30,
    timeout_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    progress: bool = True,
) -> str:
    """Call `refresh` (returns status and a detail line) until the status is in `done`.

    Returns the final status; the caller decides whether it is a success.
    """
    from tqdm import tqdm

    start = clock()
    with tqdm(total=None, bar_format="{desc} [{elapsed}]", disable=not progress) as bar:
        while True:
            status, detail = refresh()
            bar.set_description_str(f"{what}: {detail or status}")
            if status in done:
                return status
            if timeout_seconds is not None and clock() - start >= timeout_seconds:
                raise WaitTimeoutError(
                    f"{what} is still {status} after {timeout_seconds:.0f} s; it keeps running in AWS"
                )
            sleep(poll_seconds)
