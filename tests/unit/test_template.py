"""template.yaml and the ASL: the linters the issue names, and the rules they cannot see."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

ASL_PATH = REPO_ROOT / "statemachine" / "classify_image.asl.json"
TRANSIENT_LAMBDA_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
BUSINESS_ERRORS = {
    "InvalidEvent",
    "ImageNotFound",
    "ImageAccessDenied",
    "NotAnImage",
    "ImageTooLarge",
    "EndpointError",
    "ThresholdConfidenceNotMet",
}


def tool(name: str) -> str:
    """Tools come from make setup: the venv's own, or sam/checkov's private envs."""
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


def run(*command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "BC_SKIP_MAPPING": "TRUE"}
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def asl() -> dict:
    return json.loads(ASL_PATH.read_text())


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


def test_statelint_accepts_the_rendered_definition(template, tmp_path):
    from local_stack.aws.template import make_resolver

    functions = ("SerializeImageDataFunction", "ClassifyImageFunction", "FilterInferencesFunction")
    arns = {f"{f}.Arn": f"arn:aws:lambda:us-east-1:123456789012:function:{f}" for f in functions}
    resolve = make_resolver(
        {"EndpointName": "e", **template.parameter_defaults()}, arns, {"AWS::Partition": "aws"}
    )
    rendered = tmp_path / "classify_image.asl.json"
    rendered.write_text(template.state_machine("ClassifyImageStateMachine", resolve))

    result = run(tool("statelint"), str(rendered))

    assert result.returncode == 0, result.stdout + result.stderr


def test_asl_holds_only_placeholders_for_resources(template):
    text = ASL_PATH.read_text()
    assert not re.search(r"\d{12}", text), "no account id"
    assert not re.search(r"(us|eu|ap|sa|ca|me|af)-[a-z]+-\d", text), "no region"
    placeholders = set(re.findall(r"\$\{(\w+)\}", text))
    substitutions = template.body["Resources"]["ClassifyImageStateMachine"]["Properties"][
        "DefinitionSubstitutions"
    ]
    assert placeholders == set(substitutions)


def test_no_account_region_or_endpoint_name_is_written_in_code_or_template():
    sources = [REPO_ROOT / "template.yaml", *(REPO_ROOT / "functions").rglob("*.py")]
    for source in sources:
        text = source.read_text()
        assert not re.search(r"\b\d{12}\b", text), source
        assert not re.search(
            r"\b(us|eu|ap|sa|ca|me|af)-(east|west|north|south|central|northeast|southeast)-\d\b", text
        )


def test_retry_names_only_transient_errors(asl):
    for name, state in asl["States"].items():
        for retrier in state.get("Retry", []):
            errors = set(retrier["ErrorEquals"])
            assert errors <= TRANSIENT_LAMBDA_ERRORS | {"EndpointThrottled", "EndpointUnavailable"}, name
            assert retrier["BackoffRate"] > 1 and retrier["MaxAttempts"] <= 5


def test_every_business_error_is_caught_into_its_own_fail_state(asl):
    caught = {}
    for state in asl["States"].values():
        for catcher in state.get("Catch", []):
            assert "States.ALL" not in catcher["ErrorEquals"]
            for error in catcher["ErrorEquals"]:
                caught[error] = catcher["Next"]
    assert set(caught) >= BUSINESS_ERRORS
    for error in BUSINESS_ERRORS:
        fail = asl["States"][caught[error]]
        assert fail["Type"] == "Fail"
        assert fail.get("Error") == error and "CausePath" in fail


def test_tasks_run_in_order_through_the_lambda_invoke_integration(asl):
    order, state = [], asl["StartAt"]
    while state:
        order.append(state)
        state = asl["States"][state].get("Next")
    assert order == ["AttachExecutionId", "SerializeImageData", "ClassifyImage", "FilterInferences"]
    for name in order[1:]:
        task = asl["States"][name]
        assert task["Resource"] == "arn:${Partition}:states:::lambda:invoke"
        assert task["OutputPath"] == "$.Payload"


def test_error_classes_are_the_names_the_asl_matches(functions, asl):
    raised = {
        name
        for function in functions.values()
        for name, value in vars(function.exceptions).items()
        if isinstance(value, type) and issubclass(value, Exception)
    }
    matched = {
        e
        for s in asl["States"].values()
        for r in s.get("Retry", []) + s.get("Catch", [])
        for e in r["ErrorEquals"]
    }
    assert matched - TRANSIENT_LAMBDA_ERRORS <= raised
    assert raised - {"InvalidConfiguration"} <= matched  # a bad threshold fails the function's cold start


def test_iam_is_least_privilege(template):
    resources = template.body["Resources"]
    classify = resources["ClassifyImageFunction"]["Properties"]["Policies"][0]["Statement"][0]
    assert classify["Action"] == "sagemaker:InvokeEndpoint"
    assert classify["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/${EndpointName}"
    }
    assert resources["SerializeImageDataFunction"]["Properties"]["Policies"] == [
        {"S3ReadPolicy": {"BucketName": {"Ref": "ImageBucket"}}}
    ]
    assert "Policies" not in resources["FilterInferencesFunction"]["Properties"]
    invoke = [
        p["LambdaInvokePolicy"]["FunctionName"]["Ref"]
        for p in resources["ClassifyImageStateMachine"]["Properties"]["Policies"]
        if "LambdaInvokePolicy" in p
    ]
    assert invoke == ["SerializeImageDataFunction", "ClassifyImageFunction", "FilterInferencesFunction"]
    text = (REPO_ROOT / "template.yaml").read_text()
    assert "FullAccess" not in text


def test_bucket_is_private_encrypted_versioned_and_tls_only(template):
    resources = template.body["Resources"]
    bucket = resources["ImageBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    deny = resources["ImageBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_function_has_its_own_log_group_with_retention(template):
    for logical_id in ("SerializeImageDataFunction", "ClassifyImageFunction", "FilterInferencesFunction"):
        group = template.body["Resources"][logical_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert template.body["Resources"][group]["Properties"]["RetentionInDays"] == {
            "Ref": "LogRetentionInDays"
        }


def test_outputs_name_what_a_user_needs(template):
    assert {
        "ClassifyImageStateMachineArn",
        "ImageBucketName",
        "SerializeImageDataFunctionName",
        "ClassifyImageFunctionName",
        "FilterInferencesFunctionName",
    } <= set(template.body["Outputs"])


def test_dashboard_body_is_json_naming_the_stacks_own_resources(template):
    from local_stack.aws.template import make_resolver

    resources = template.body["Resources"]
    attributes = {name: f"<{name}>" for name in resources}
    attributes |= {f"{name}.Arn": f"<{name}.Arn>" for name in resources}
    parameters = {**template.parameter_defaults(), "EndpointName": "vehicle-classifier"}
    resolve = make_resolver(parameters, attributes, {"AWS::Region": "eu-west-1", "AWS::StackName": "s"})

    body = json.loads(resolve(resources["MonitoringDashboard"]["Properties"]["DashboardBody"]))

    text = json.dumps(body)
    named = set(re.findall(r"<(\w+)(?:\.Arn)?>", text))
    assert named <= set(resources)
    alarms = {name for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms <= named, "every alarm is on the dashboard"
    assert {"ClassifyImageStateMachine", "SerializeImageDataFunction", "ClassifyImageFunction"} <= named
    assert '"EndpointName", "vehicle-classifier"' in text  # the endpoint's own Invocations / ModelLatency
    sagemaker = [
        m for w in body["widgets"] for m in w["properties"].get("metrics", []) if m[0] == "AWS/SageMaker"
    ]
    assert {"Invocations", "ModelLatency"} <= {m[1] for m in sagemaker}


def test_custom_metrics_in_alarms_are_the_ones_the_handlers_emit(template, functions):
    sources = "".join(
        (REPO_ROOT / "functions" / d / "app.py").read_text() for d in os.listdir(REPO_ROOT / "functions")
    )
    service = template.body["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    namespace = template.body["Globals"]["Function"]["Environment"]["Variables"][
        "POWERTOOLS_METRICS_NAMESPACE"
    ]
    for resource in template.body["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        for query in resource["Properties"].get("Metrics", []):
            metric = query.get("MetricStat", {}).get("Metric")
            if metric and metric["Namespace"] == namespace:
                assert f'name="{metric["MetricName"]}"' in sources
                assert metric["Dimensions"] == [{"Name": "service", "Value": service}]


def test_alarms_notify_the_topic(template):
    for name, resource in template.body["Resources"].items():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            assert resource["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name


def test_tracer_does_not_copy_image_payloads_into_segments(template):
    variables = template.body["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"  # X-Ray segments hold 64 KB


def test_executions_time_out_so_the_timeout_alarm_can_fire(asl):
    assert 0 < asl["TimeoutSeconds"] <= 3600
