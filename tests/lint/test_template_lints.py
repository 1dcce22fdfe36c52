"""The linters the issue names, run on template.yaml and the rendered ASL: cfn-lint, `sam validate
--lint`, checkov and statelint (`make lint`; the rules they cannot see are in
tests/unit/test_template.py)."""

import json
import os
import subprocess

import pytest

from tests.conftest import REPO_ROOT, tool
from tests.unit.asl_render import rendered_definition


def run(*command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "BC_SKIP_MAPPING": "TRUE"}
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=300)


def test_cfn_lint_is_clean():
    result = run(tool("cfn-lint"), "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_is_clean():
    result = run(tool("sam"), "validate", "--lint", "--region", "us-east-1")
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_passes_and_every_skip_has_a_reason():
    result = run(tool("checkov"), "-f", "template.yaml", "--skip-download", "-o", "json")
    report = json.loads(result.stdout)
    assert report["results"]["failed_checks"] == [], result.stdout
    skipped = report["results"]["skipped_checks"]
    assert skipped, "the template documents its skips"
    assert all(len(check["check_result"]["suppress_comment"]) > 40 for check in skipped)


@pytest.mark.parametrize("definition", sorted((REPO_ROOT / "statemachine").glob("*.asl.json")), ids=str)
def test_statelint_accepts_each_definition_as_it_stands(definition):
    # what an editor, Workflow Studio or validate-state-machine-definition opens: numbers through
    # Path fields, every placeholder inside a string (issue 25)
    result = run(tool("statelint"), str(definition))

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("action", ["Fail", "Review"])
def test_statelint_accepts_the_rendered_definition(template, tmp_path, action):
    rendered = tmp_path / "classify_image.asl.json"
    rendered.write_text(rendered_definition(template, LowConfidenceAction=action))

    result = run(tool("statelint"), str(rendered))

    assert result.returncode == 0, result.stdout + result.stderr


def test_statelint_accepts_the_rendered_batch_definition(template, tmp_path):
    rendered = tmp_path / "batch_classify.asl.json"
    rendered.write_text(rendered_definition(template, "BatchClassifyStateMachine"))

    result = run(tool("statelint"), str(rendered))

    assert result.returncode == 0, result.stdout + result.stderr
