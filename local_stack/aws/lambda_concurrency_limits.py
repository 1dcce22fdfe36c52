"""Lambda's concurrency limits, for the local stack: an account's concurrency and each function's
reserved concurrency, checked as each invocation starts and counted until it ends.

As Lambda (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html): a function with
reserved concurrency R runs at most R invocations at once, and the others are throttled with
reason ``ReservedFunctionConcurrentInvocationLimitExceeded``; the functions without a reservation
share what the reservations leave of the account's limit (1,000 by default:
https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), and one past it is
throttled with ``ConcurrentInvocationLimitExceeded``. Either answers Invoke with
``TooManyRequestsException``, HTTP 429 (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html,
"Errors"), which Step Functions' Lambda task names ``Lambda.TooManyRequestsException``.

Nothing here touches moto; ``aws.moto_patches.lambda_invoke`` passes the reservations in.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator, Mapping

DEFAULT_ACCOUNT_CONCURRENCY = 1000
# Lambda keeps this much of the account's concurrency unreserved (PutFunctionConcurrency refuses
# a reservation that leaves less: https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html)
UNRESERVED_MINIMUM = 100

RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"
THROTTLE_MESSAGE = "Rate Exceeded."


class ConcurrencyLimitExceeded(Exception):
    """An invocation Lambda throttles: ``reason`` is Lambda's ``Reason`` field."""

    def __init__(self, function_name: str, reason: str) -> None:
        super().__init__(f"{function_name}: {reason}")
        self.function_name = function_name
        self.reason = reason


class ConcurrencyLimits:
    """The account's invocations in flight, per function; thread-safe."""

    def __init__(self, account_limit: int = DEFAULT_ACCOUNT_CONCURRENCY) -> None:
        self.account_limit = account_limit
        self._in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()

    def check(self, function_name: str, reservations: Mapping[str, int]) -> None:
        """Count one more invocation of ``function_name``, or raise ConcurrencyLimitExceeded.
        ``reservations``: each function's reserved concurrency (functions without one absent)."""
        with self._lock:
            reserved = reservations.get(function_name)
            if reserved is not None:
                if self._in_flight[function_name] >= reserved:
                    raise ConcurrencyLimitExceeded(function_name, RESERVED_LIMIT)
            else:
                unreserved_pool = self.account_limit - sum(reservations.values())
                unreserved_in_flight = sum(
                    count for name, count in self._in_flight.items() if name not in reservations
                )
                if unreserved_in_flight >= unreserved_pool:
                    raise ConcurrencyLimitExceeded(function_name, ACCOUNT_LIMIT)
            self._in_flight[function_name] += 1

    def release(self, function_name: str) -> None:
        with self._lock:
            self._in_flight[function_name] -= 1
            if self._in_flight[function_name] <= 0:
                del self._in_flight[function_name]

    @contextlib.contextmanager
    def admitted(self, function_name: str, reservations: Mapping[str, int]) -> Iterator[None]:
        """One invocation, counted while the block runs; raises where Lambda throttles it."""
        self.check(function_name, reservations)
        try:
            yield
        finally:
            self.release(function_name)

    def in_flight(self, function_name: str | None = None) -> int:
        with self._lock:
            if function_name is None:
                return sum(self._in_flight.values())
            return self._in_flight[function_name]


# the account of this process's local stack
account = ConcurrencyLimits()


def set_account_limit(limit: int) -> int:
    """Set the account's concurrency limit; return the previous."""
    if limit < 1:
        raise ValueError(f"account concurrency {limit}: must be at least 1")
    previous, account.account_limit = account.account_limit, limit
    return previous
