"""Every function fails its cold start the same named way when a variable template.yaml gives it
is missing: InvalidConfiguration, naming the variable. Each import runs in a child process, as
the Lambda runtime imports app.py: the function's folder first on the path, nothing else loaded."""

import os
import subprocess
import sys

import pytest

from tests.conftest import TEST_ENDPOINT_NAME

# (function, variable it reads, a valid value)
REQUIRED_CONFIGURATION = [
    ("ClassifyImageFunction", "ENDPOINT_NAME", TEST_ENDPOINT_NAME),
    ("ClassifyImageFunction", "ENDPOINT_TIMEOUT_SECONDS", "10"),
    # CaptureMode Function: the function writes the capture (Endpoint: it needs neither of the next two)
    ("ClassifyImageFunction", "CAPTURE_MODE", "Function"),
    ("ClassifyImageFunction", "CAPTURE_DESTINATION", "s3://capture-bucket/data-capture"),
    ("ClassifyImageFunction", "CAPTURE_SAMPLING_PERCENTAGE", "100"),
    ("FilterInferencesFunction", "CONFIDENCE_THRESHOLD", "0.93"),
    ("SerializeImageDataFunction", "MAX_IMAGE_SIDE", "256"),
    ("SerializeImageDataFunction", "MAX_UPLOAD_BYTES", "26214400"),
]

# (function, variable): read when set, not needed otherwise (a KMS key only for a KMS-encrypted capture)
OPTIONAL_CONFIGURATION = [("ClassifyImageFunction", "CAPTURE_KMS_KEY_ARN")]

COLD_START = """
try:
    import app
except Exception as error:
    print(f"{type(error).__name__}: {error}")
"""


def cold_start(code_dir, environment: dict[str, str]) -> str:
    """'ErrorName: message' for the error importing app.py raises, '' when it imports."""
    done = subprocess.run(
        [sys.executable, "-c", COLD_START],
        cwd=code_dir,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip()


def test_these_are_all_the_variables_template_yaml_gives_the_functions(template):
    given = {
        (logical_id, variable)
        for logical_id, resource in template.body["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        for variable in resource["Properties"].get("Environment", {}).get("Variables", {})
    }
    assert given == {(function, variable) for function, variable, _ in REQUIRED_CONFIGURATION} | set(
        OPTIONAL_CONFIGURATION
    )


@pytest.mark.parametrize(("function", "variable", "value"), REQUIRED_CONFIGURATION)
def test_a_missing_variable_fails_the_cold_start_naming_it(template, function, variable, value):
    # the function's other variables set, as the template sets them
    others = {v: val for f, v, val in REQUIRED_CONFIGURATION if f == function and v != variable}
    without = {**{name: v for name, v in os.environ.items() if name != variable}, **others}

    assert cold_start(template.function_code_dir(function), {**without, variable: value}) == ""
    assert cold_start(template.function_code_dir(function), without).startswith(
        f"InvalidConfiguration: {variable} must"
    )
