"""cfn-lint and checkov on the SageMaker execution role's template (training_job/
sagemaker-execution-role.yaml), with the same tools and flags as template.yaml's lints."""

import json

from tests.conftest import tool
from tests.lint.test_template_lints import run

ROLE_TEMPLATE = "training_job/sagemaker-execution-role.yaml"


def test_cfn_lint_is_clean_on_the_role_template():
    result = run(tool("cfn-lint"), ROLE_TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_passes_on_the_role_template_and_every_skip_has_a_reason():
    result = run(tool("checkov"), "-f", ROLE_TEMPLATE, "--skip-download", "-o", "json")
    report = json.loads(result.stdout)
    assert report["results"]["failed_checks"] == [], result.stdout
    skipped = report["results"]["skipped_checks"]
    assert all(len(check["check_result"]["suppress_comment"]) > 40 for check in skipped)
