"""`sam build` with no Docker: each function's Makefile installs Lambda (arm64, 3.13) wheels."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from local_stack.aws.template import make_resolver
from tests.conftest import REPO_ROOT
from tests.unit.test_template import tool

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FUNCTIONS = ("SerializeImageDataFunction", "ClassifyImageFunction", "FilterInferencesFunction")
MAX_FUNCTION_BYTES = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("sam") / "build"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PYTHON": sys.executable}
    result = subprocess.run(
        [tool("sam"), "build", "--build-dir", str(build), "--region", "us-east-1"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return build


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_builds_under_10_mb_without_host_bytecode(build_dir, function):
    files = [p for p in (build_dir / function).rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < MAX_FUNCTION_BYTES
    assert (build_dir / function / "app.py").is_file()
    assert (build_dir / function / "aws_lambda_powertools").is_dir()
    assert not any(p.suffix == ".pyc" for p in files), (
        "bytecode of the build host's Python is useless on 3.13"
    )
    assert not (build_dir / function / "boto3").exists(), "boto3 comes with the Lambda runtime"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_built_function_imports_with_only_the_runtimes_boto3(build_dir, function, template):
    # The build holds aarch64 wheels; wrapt falls back to pure Python on this host, which is
    # enough to prove that nothing the handler imports was pruned away.
    boto3_home = Path(__import__("boto3").__file__).parent.parent
    # the environment template.yaml gives the function, at the parameters' defaults
    resolve = make_resolver({**template.parameter_defaults(), "EndpointName": "e"}, {}, {})
    env = {
        **os.environ,
        **template.function_environment(function, resolve),
        "PYTHONPATH": f"{build_dir / function}:{boto3_home}",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-B",
            "-c",
            "import sys; sys.path[:0] = sys.argv[1].split(':'); import app",
            env["PYTHONPATH"],
        ],
        cwd=build_dir / function,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
