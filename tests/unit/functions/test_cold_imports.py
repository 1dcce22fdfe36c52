"""What each function's cold start imports, in a child process as the Lambda runtime imports app.py
(the function's folder first on the path, nothing else loaded). No X-Ray SDK: Powertools' Tracer is
built on it (in maintenance since 2026-02, and most of the cold import); Lambda's own tracing
(`Tracing: Active`) stays. FilterInferences makes no AWS call and imports no AWS SDK.

The project's environment has the X-Ray SDK (and boto3) installed, so each check fails if a
function takes them up again; `Tracer()` imports the SDK even with tracing disabled."""

import json
import os
import subprocess
import sys

import pytest

from local_stack.aws.template import make_resolver
from tests.conftest import REPO_ROOT, TEST_ENDPOINT_NAME

FUNCTIONS = ("SerializeImageDataFunction", "ClassifyImageFunction", "FilterInferencesFunction")

IMPORT_APP = """
import json, sys
import app
print(json.dumps({
    "modules": sorted(sys.modules),
    "types": sorted({f"{type(v).__module__}.{type(v).__qualname__}" for v in vars(app).values()}),
}))
"""


@pytest.fixture(scope="module")
def imported(template) -> dict[str, dict]:
    """Each function's modules after `import app`, and the types of app's globals."""
    resolve = make_resolver({**template.parameter_defaults(), "EndpointName": TEST_ENDPOINT_NAME}, {}, {})
    found = {}
    for function in FUNCTIONS:
        done = subprocess.run(
            [sys.executable, "-c", IMPORT_APP],
            cwd=template.function_code_dir(function),
            env={**os.environ, **template.function_environment(function, resolve)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        found[function] = json.loads(done.stdout)
    return found


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_imports_the_xray_sdk_or_makes_a_tracer(imported, function):
    modules = imported[function]["modules"]
    assert not [m for m in modules if m.split(".")[0] in ("aws_xray_sdk", "wrapt")]
    assert "aws_lambda_powertools.tracing.tracer.Tracer" not in imported[function]["types"]
    # what the Lambda keeps using of Powertools
    assert {
        "aws_lambda_powertools.logging.logger.Logger",
        "aws_lambda_powertools.metrics.metrics.Metrics",
    } <= set(imported[function]["types"])


def test_filter_inferences_imports_no_aws_sdk(imported):
    modules = imported["FilterInferencesFunction"]["modules"]
    assert not [m for m in modules if m.split(".")[0] in ("boto3", "s3transfer", "urllib3")]
    # Powertools' package imports botocore's own package (three standard modules, under a
    # millisecond), only to tag the User-Agent of AWS calls that FilterInferences never makes;
    # none of botocore's modules comes with it.
    assert not [m for m in modules if m.startswith("botocore.")]


@pytest.mark.parametrize("function", ["serialize_image_data", "classify_image", "filter_inferences"])
def test_requirements_carry_no_tracing_sdk(function):
    requirements = (REPO_ROOT / "functions" / function / "requirements.txt").read_text().lower()
    pinned = {line.split("==")[0] for line in requirements.splitlines() if "==" in line}
    assert not pinned & {"aws-xray-sdk", "wrapt"}
    assert "aws-lambda-powertools" in pinned
