"""Fixtures shared by unit and integration tests: fake AWS settings, the sample events,
a Lambda context, and the three functions loaded as their Lambdas load them."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

# Set before any test module creates a boto3 client or imports a handler: no real account is
# ever reachable, and Powertools neither needs an X-Ray daemon nor a namespace from a deploy.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_DEV": "false",
    }
)
for _variable in (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
):
    os.environ.pop(_variable, None)

from local_stack.aws import lambda_runtime, moto_patches  # noqa: E402 - needs the environment above
from local_stack.aws.template import Template, make_resolver  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = REPO_ROOT / "events"
SAMPLES_DIR = REPO_ROOT / "samples"
SHARED_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "cifar100-bicycle-motorcycle"
TEST_ENDPOINT_NAME = "vehicle-classifier-test"


def tool(name: str) -> str:
    """A command-line tool (cfn-lint, sam, checkov, statelint...) from make setup: the venv's own,
    or sam/checkov's private envs."""
    for candidate in (
        Path(sys.executable).parent / name,
        REPO_ROOT / ".tools" / name / "bin" / name,
        REPO_ROOT / ".tools" / "sam" / "bin" / name,
    ):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    assert found, f"{name} is not installed: run `make setup`"
    return found


def load_event(name: str) -> dict:
    return json.loads((EVENTS_DIR / name).read_text())


@pytest.fixture
def lambda_context() -> lambda_runtime.FakeLambdaContext:
    return lambda_runtime.FakeLambdaContext(function_name="test-function")


@pytest.fixture(scope="session")
def template() -> Template:
    return Template.load()


@pytest.fixture(scope="session")
def functions(template: Template) -> dict:
    """Each function's modules, imported once with the environment template.yaml gives it."""
    resolve = make_resolver({**template.parameter_defaults(), "EndpointName": TEST_ENDPOINT_NAME}, {}, {})
    return {
        logical_id.removesuffix("Function"): lambda_runtime.load_function(
            template.function_code_dir(logical_id), template.function_environment(logical_id, resolve)
        )
        for logical_id in ("SerializeImageDataFunction", "ClassifyImageFunction", "FilterInferencesFunction")
    }


@pytest.fixture
def retry_sleeps():
    """The intervals moto's interpreter would sleep between Retry attempts, recorded instead."""
    with moto_patches.retry_sleeps_recorded() as slept:
        yield slept


@pytest.fixture(autouse=True)
def _reset_metrics(request):
    """Powertools keeps metrics in a class-level store; start every test with none."""
    yield
    if "functions" in request.fixturenames:
        for function in request.getfixturevalue("functions").values():
            function.app.metrics.clear_metrics()


def service_role(iam, service: str, name: str = "r", actions: tuple[str, ...] = ()) -> str:
    """A role that ``service`` (``states.amazonaws.com``, ``lambda.amazonaws.com``) may assume:
    what AWS requires of a state machine's roleArn and a function's Role (CreateStateMachine and
    CreateFunction refuse one whose trust policy does not name the service), allowed ``actions``
    on every resource (for tests of the interpreter, not of IAM; test_local_deploy and the
    workflow tests run the template's own roles). Made once per moto: its ARN is
    ``arn:aws:iam::123456789012:role/<name>``."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    try:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    if actions:
        grant = {"Effect": "Allow", "Action": list(actions), "Resource": "*"}
        document = json.dumps({"Version": "2012-10-17", "Statement": [grant]})
        iam.put_role_policy(RoleName=name, PolicyName="grant", PolicyDocument=document)
    return arn


@contextlib.contextmanager
def iam_enforced(monkeypatch, *patch_groups: str, **mock_config):
    """moto in-process with the local stack's patches (``patch_groups``; all if none) and IAM
    enforced; yields a boto3 session acting as the administrator (the tests' key). Principals'
    remembered policies are forgotten before and after, so no decision outlives its moto."""
    import boto3
    from moto import mock_aws

    from local_stack.aws import moto_patches
    from local_stack.aws.iam import principals
    from local_stack.aws.iam.enforcement import SWITCH_VARIABLE

    moto_patches.install(*patch_groups)
    monkeypatch.setenv(SWITCH_VARIABLE, "on")
    principals.forget_all()
    try:
        with mock_aws(config=mock_config or None):
            yield boto3.Session(region_name="us-east-1")
    finally:
        principals.forget_all()
