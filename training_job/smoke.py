"""The smoke test before a rollout: the new endpoint config on a temporary endpoint, the committed
sample photos (samples/images/*.png, labels in samples/images.lst) sent to it with InvokeEndpoint,
and the rollout refused when too few come back right.

Where to run it: a new endpoint config cannot be invoked before an endpoint serves it. Of the
three ways there are, this takes the second:

(a) a second production variant with weight 0 on the live endpoint, called with TargetVariant.
    Adding it is itself an UpdateEndpoint, which SageMaker carries out by building a whole new
    fleet for the live endpoint before the check that was to guard that; and the guarded update
    after it would change the variants, where deployment guardrails need the old variant names.
(b) a temporary endpoint on the new config (this module): the live endpoint is not touched until
    the photos pass. It costs the config's instances for the minutes the endpoint lives (about
    10-15, ~$0.03 for one ml.m5.large) and that much waiting, and needs endpoint quota for them,
    as the green fleet does a few minutes later. It serves the very config that goes live, data
    capture included: its requests are captured under its own endpoint name, which the report
    of the real endpoint does not read.
(c) the local ONNX model: a different network from the one the endpoint serves (the built-in
    algorithm's artifact), so it would check nothing about the artifact being rolled out.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scones_core.project import APPROX_HOURLY_USD, project_tags
from training_job.exceptions import SmokeTestFailedError, UsageError
from training_job.resource_names import versioned_name

_SAMPLES = Path(__file__).resolve().parents[1] / "samples"
DEFAULT_SMOKE_IMAGES = _SAMPLES / "images"
DEFAULT_SMOKE_LST = _SAMPLES / "images.lst"
#: The local model gets 37 of the 40 sample photos right (92.5 %) and the SageMaker model is
#: expected at 93-95 %. At 0.8 (32 of 40) a model that is right 90 % of the time is refused by
#: chance 1.6 % of the time (binomial, n=40), while one that answers one class for everything
#: (exactly 50 %) or guesses (P(>=32 of 40) < 0.01 %) is always refused.
DEFAULT_MIN_SMOKE_ACCURACY = 0.8
#: How long the temporary endpoint may take to come up, and to go away again.
SMOKE_WAIT_SECONDS = 1800
#: For the cost in the plan: creating, the calls and deleting, as billed.
SMOKE_BILLED_MINUTES = 15
CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
GONE = "gone"


@dataclass(frozen=True)
class SmokeOptions:
    images_dir: Path = DEFAULT_SMOKE_IMAGES
    lst: Path = DEFAULT_SMOKE_LST
    min_accuracy: float = DEFAULT_MIN_SMOKE_ACCURACY


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int


@dataclass(frozen=True)
class SmokePlan:
    endpoint_name: str  # the temporary endpoint
    samples: tuple[Sample, ...]
    lst: Path
    min_accuracy: float
    instance_type: str
    instance_count: int

    @property
    def needed(self) -> int:
        """Right answers needed: the least count whose share reaches min_accuracy."""
        return max(0, math.ceil(self.min_accuracy * len(self.samples) - 1e-9))


@dataclass(frozen=True)
class SmokeResult:
    endpoint_name: str
    correct: int
    total: int  # photos in the list; those not sent count as wrong
    called: int  # photos sent before the outcome was settled
    errors: int  # calls that failed or answered something that is not two probabilities
    min_accuracy: float

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def passed(self) -> bool:
        return self.total > 0 and self.accuracy >= self.min_accuracy - 1e-9

    def line(self) -> str:
        errors = f", calls failed: {self.errors}" if self.errors else ""
        stopped = (
            f", stopped after {self.called} of {self.total}: the rest could not change the outcome"
            if self.called < self.total
            else ""
        )
        return (
            f"smoke test on {self.endpoint_name}: {self.correct}/{self.total} right "
            f"({self.accuracy:.1%}, needed {self.min_accuracy:.0%}){errors}{stopped}"
        )


def read_samples(images_dir: Path, lst: Path) -> tuple[Sample, ...]:
    """The photos and labels of `lst`; a missing folder, list or photo is a usage error."""
    from scones_core.lst import LstFormatError, read_lst

    if not images_dir.is_dir():
        raise UsageError(f"--smoke-images {images_dir}: no such folder (or pass --no-smoke-test)")
    try:
        entries = read_lst(lst)
    except FileNotFoundError as error:
        raise UsageError(f"--smoke-lst {lst}: no such file (or pass --no-smoke-test)") from error
    except LstFormatError as error:
        raise UsageError(f"--smoke-lst {lst}: {error}") from error
    samples = tuple(Sample(images_dir / entry.path, entry.label) for entry in entries)
    missing = [str(sample.path) for sample in samples if not sample.path.is_file()]
    if missing or not samples:
        raise UsageError(f"--smoke-lst {lst}: {'missing ' + ', '.join(missing[:3]) if missing else 'empty'}")
    unknown = sorted({s.path.suffix.lower() for s in samples} - CONTENT_TYPES.keys())
    if unknown:
        raise UsageError(f"--smoke-lst {lst}: the endpoint takes PNG or JPEG, not {', '.join(unknown)}")
    return samples


def smoke_endpoint_name(endpoint_name: str, now: float | None = None) -> str:
    return versioned_name(f"{endpoint_name}-smoke", now)


def smoke_plan(
    options: SmokeOptions,
    endpoint_name: str,
    instance_type: str,
    instance_count: int,
    now: float | None = None,
) -> SmokePlan:
    samples = read_samples(options.images_dir, options.lst)
    return SmokePlan(
        smoke_endpoint_name(endpoint_name, now),
        samples,
        options.lst,
        options.min_accuracy,
        instance_type,
        instance_count,
    )


def smoke_plan_line(plan: SmokePlan | None) -> str:
    if plan is None:
        return "none (--no-smoke-test): traffic goes to a model nobody has called"
    price = APPROX_HOURLY_USD.get(plan.instance_type)
    cost = f", ~${price * plan.instance_count * SMOKE_BILLED_MINUTES / 60:.2f}" if price else ""
    return (
        f"a temporary endpoint {plan.endpoint_name} on the new config ({plan.instance_count} x "
        f"{plan.instance_type}, ~{SMOKE_BILLED_MINUTES} min{cost}) gets the {len(plan.samples)} photos "
        f"of {plan.lst}; at least {plan.min_accuracy:.0%} ({plan.needed} of {len(plan.samples)}) "
        "must come back right or nothing is rolled out; then it is deleted"
    )


def create_endpoint_request(plan: SmokePlan, config_name: str, target_endpoint: str) -> dict[str, Any]:
    """CreateEndpoint for the temporary endpoint, tagged with the endpoint it checks, so that
    `teardown --endpoint-name <target>` finds it if its deletion ever fails."""
    return {
        "EndpointName": plan.endpoint_name,
        "EndpointConfigName": config_name,
        "Tags": project_tags(target_endpoint),
    }


def invoke_request(endpoint_name: str, sample: Sample) -> dict[str, Any]:
    """InvokeEndpoint as ClassifyImage sends it: the photo's bytes, a JSON answer asked for."""
    return {
        "EndpointName": endpoint_name,
        "ContentType": CONTENT_TYPES[sample.path.suffix.lower()],
        "Accept": "application/json",
        "Body": sample.path.read_bytes(),
    }


def predicted_label(body: bytes) -> int:
    """The algorithm answers `[p_bicycle, p_motorcycle]`; the label is the likelier class."""
    probabilities = json.loads(body)
    if (
        not isinstance(probabilities, list)
        or len(probabilities) != 2
        or not all(isinstance(p, int | float) for p in probabilities)
    ):
        raise ValueError(f"not two probabilities: {body[:80]!r}")
    return 0 if probabilities[0] >= probabilities[1] else 1


def classify_one(runtime: Any, endpoint_name: str, sample: Sample) -> int | None:
    """The label the endpoint gives the sample; None when the call failed or the answer is not
    two probabilities (a model that errors is a model that fails the test, not a crash)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        body = runtime.invoke_endpoint(**invoke_request(endpoint_name, sample))["Body"].read()
        return predicted_label(body)
    except (BotoCoreError, ClientError, ValueError):
        return None


def classify(runtime: Any, endpoint_name: str, plan: SmokePlan) -> list[int | None]:
    """Labels for the samples in order, stopping once more are wrong than the threshold allows:
    the outcome is settled, and a hanging model would hold each further call for 60 s."""
    allowed = len(plan.samples) - plan.needed
    labels: list[int | None] = []
    for sample in plan.samples:
        labels.append(classify_one(runtime, endpoint_name, sample))
        if sum(label != s.label for label, s in zip(labels, plan.samples, strict=False)) > allowed:
            break
    return labels


def score(plan: SmokePlan, labels: list[int | None]) -> SmokeResult:
    """`labels` for the first len(labels) samples; samples not sent count as wrong."""
    correct = sum(1 for sample, label in zip(plan.samples, labels, strict=False) if label == sample.label)
    errors = sum(1 for label in labels if label is None)
    return SmokeResult(plan.endpoint_name, correct, len(plan.samples), len(labels), errors, plan.min_accuracy)


def _status(sagemaker: Any, endpoint_name: str) -> tuple[str, str]:
    """(status, detail) of an endpoint; GONE once it does not exist."""
    from botocore.exceptions import ClientError

    try:
        answer = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as error:
        if "Could not find" in str(error):
            return GONE, GONE
        raise
    return answer["EndpointStatus"], answer.get("FailureReason", "")


def run_smoke_test(
    sagemaker: Any,
    runtime: Any,
    plan: SmokePlan,
    config_name: str,
    target_endpoint: str,
    *,
    poll_seconds: float = 30,
    timeout_seconds: float = SMOKE_WAIT_SECONDS,
    **wait_options,
) -> SmokeResult:
    """Create the temporary endpoint, wait for InService, classify the samples, delete it and
    wait until it is gone (so its instances no longer count against the quota the green fleet
    needs). Raises SmokeTestFailedError when the endpoint does not come up."""
    from training_job.waiting import wait_for

    sagemaker.create_endpoint(**create_endpoint_request(plan, config_name, target_endpoint))
    try:
        details = {}

        def refresh() -> tuple[str, str]:
            status, details["reason"] = _status(sagemaker, plan.endpoint_name)
            return status, status

        status = wait_for(
            refresh,
            done={"InService", "Failed", "OutOfService", GONE},
            what=f"smoke-test endpoint {plan.endpoint_name}",
            poll_seconds=poll_seconds,
            timeout_seconds=timeout_seconds,
            **wait_options,
        )
        if status != "InService":
            raise SmokeTestFailedError(
                f"the smoke-test endpoint {plan.endpoint_name} on the new config ended {status} "
                f"({details.get('reason') or 'no reason given'}); nothing was rolled out"
            )
        return score(plan, classify(runtime, plan.endpoint_name, plan))
    finally:
        _delete(
            sagemaker,
            plan.endpoint_name,
            poll_seconds=poll_seconds,
            timeout_seconds=timeout_seconds,
            **wait_options,
        )


def _delete(sagemaker: Any, endpoint_name: str, **wait_options) -> None:
    """Delete the temporary endpoint and wait for it to go; a wait that runs out is not an
    error (the deletion goes on in AWS, and the endpoint is tagged for `teardown`)."""
    from botocore.exceptions import ClientError

    from training_job.exceptions import WaitTimeoutError
    from training_job.waiting import wait_for

    try:
        sagemaker.delete_endpoint(EndpointName=endpoint_name)
    except ClientError as error:
        if "Could not find" in str(error):  # it never came up, or went already
            return
        raise
    with contextlib.suppress(WaitTimeoutError):
        wait_for(
            lambda: _status(sagemaker, endpoint_name),
            done={GONE, "Failed"},
            what=f"deleting smoke-test endpoint {endpoint_name}",
            **wait_options,
        )
