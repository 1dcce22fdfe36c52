"""template.yaml and the ASL: the rules the linters cannot see (the linters themselves run in
tests/lint, `make lint`)."""

import json
import os
import re
import subprocess
import sys

import pytest

from local_stack.aws import sam_transform
from local_stack.aws.template import Template
from tests.conftest import REPO_ROOT
from tests.unit.asl_render import asl_with_placeholders, rendered_asl, rendered_batch_asl

ASL_PATH = REPO_ROOT / "statemachine" / "classify_image.asl.json"
TRANSIENT_LAMBDA_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
# what Step Functions names a function that crashed or ran out of time (the runtime's errorType),
# or whose error carried no type (Lambda.Unknown): retried once or twice, never more
CRASHED_FUNCTION_ERRORS = {"Runtime.ExitError", "Runtime.OutOfMemory", "Sandbox.Timedout", "Lambda.Unknown"}
# our own transient errors, retried with backoff
TRANSIENT_NAMED_ERRORS = {"EndpointThrottled", "EndpointUnavailable", "ImageStoreUnavailable"}
# each Task state is named after the function it invokes
TASKS = ("SerializeImageData", "ClassifyImage", "FilterInferences")


def run(*command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "BC_SKIP_MAPPING": "TRUE"}
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def asl() -> dict:
    return asl_with_placeholders()


def test_asl_holds_only_placeholders_for_resources(template):
    text = ASL_PATH.read_text()
    assert not re.search(r"\d{12}", text), "no account id"
    assert not re.search(r"(us|eu|ap|sa|ca|me|af)-[a-z]+-\d", text), "no region"
    placeholders = set(re.findall(r"\$\{(\w+)\}", text))
    substitutions = template.body["Resources"]["ClassifyImageStateMachine"]["Properties"][
        "DefinitionSubstitutions"
    ]
    assert placeholders == set(substitutions)


def test_no_account_region_or_endpoint_name_is_written_in_code_or_template(template):
    # but one: AWS publishes the ADOT layer in its own accounts, one ARN per region, and the
    # layer parameter's default names the one of N. Virginia (a deploy elsewhere overrides it)
    published_layer = template.body["Parameters"]["OpenTelemetryLayerArn"]["Default"]
    sources = [REPO_ROOT / "template.yaml", *(REPO_ROOT / "functions").rglob("*.py")]
    for source in sources:
        text = source.read_text().replace(published_layer, "")
        assert not re.search(r"\b\d{12}\b", text), source
        assert not re.search(
            r"\b(us|eu|ap|sa|ca|me|af)-(east|west|north|south|central|northeast|southeast)-\d\b", text
        )


def test_retry_names_only_transient_errors(asl):
    for name, state in asl["States"].items():
        for retrier in state.get("Retry", []):
            errors = set(retrier["ErrorEquals"])
            assert errors <= TRANSIENT_LAMBDA_ERRORS | TRANSIENT_NAMED_ERRORS | CRASHED_FUNCTION_ERRORS, name
            assert retrier["BackoffRate"] > 1 and retrier["MaxAttempts"] <= 5
            assert retrier.get("JitterStrategy") == "FULL", name
            if errors & CRASHED_FUNCTION_ERRORS:
                assert errors <= CRASHED_FUNCTION_ERRORS and retrier["MaxAttempts"] <= 2, name


def final_error(asl: dict, state_name: str, error: str) -> str:
    """Follow an error from a catcher's Next through Pass and Choice states (Choices on
    ``$.error.Error``) to its Fail state: the error name the execution ends with."""
    while True:
        state = asl["States"][state_name]
        if state["Type"] == "Fail":
            return state.get("Error") or error  # ErrorPath: the caught error's own name
        if state["Type"] == "Choice":
            # compound rules (And) are the Review route, never taken under the default Fail
            rules = [r for r in state["Choices"] if r.get("Variable") == "$.error.Error"]
            state_name = next((r["Next"] for r in rules if r["StringEquals"] == error), state["Default"])
        else:
            assert state["Type"] == "Pass", state_name
            state_name = state["Next"]


def test_every_error_a_function_raises_ends_in_the_fail_state_of_its_name(functions, asl):
    """The functions' exceptions.py are the source: a new exception without a Catch fails here."""
    for task in TASKS:
        state = asl["States"][task]
        assert f"${{{task}FunctionArn}}" == state["Parameters"]["FunctionName"]
        raised = {
            name
            for name, value in vars(functions[task].exceptions).items()
            if isinstance(value, type) and issubclass(value, Exception)
        }
        catchers = state["Catch"]
        assert catchers[-1] == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "TaskFailed"}
        for error in raised | CRASHED_FUNCTION_ERRORS - {"Lambda.Unknown"}:
            catcher = next(c for c in catchers if error in c["ErrorEquals"])
            assert catcher["ResultPath"] == "$.error"
            assert final_error(asl, catcher["Next"], error) == error, (task, error)
            routes = asl["States"]["RouteError"]["Choices"]
            fail = asl["States"][
                next(
                    (r["Next"] for r in routes if r.get("StringEquals") == error),
                    "FunctionFailed",
                )
            ]
            # people read the one-line message; the stack trace stays in the function's log
            assert fail["CausePath"] == "$.failure.cause.errorMessage"


def test_catch_all_is_last_and_keeps_lambdas_own_error_and_cause(asl):
    for state in asl["States"].values():
        for position, catcher in enumerate(state.get("Catch", [])):
            if "States.ALL" in catcher["ErrorEquals"]:
                assert catcher["ErrorEquals"] == ["States.ALL"]
                assert position == len(state["Catch"]) - 1
    fail = asl["States"]["TaskFailed"]
    assert (fail["ErrorPath"], fail["CausePath"]) == ("$.error.Error", "$.error.Cause")


def test_an_input_that_is_not_an_image_location_is_refused_first(asl):
    check = asl["States"][asl["StartAt"]]
    assert check["Type"] == "Choice" and check["Choices"][0]["Next"] == "AttachExecutionId"
    refused = asl["States"][check["Default"]]
    assert (refused["Type"], refused["Error"]) == ("Fail", "InvalidEvent")


def test_tasks_run_in_order_through_the_lambda_invoke_integration(asl):
    order, state = [], asl["States"][asl["StartAt"]]["Choices"][0]["Next"]
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
        if s.get("Resource") == "arn:${Partition}:states:::lambda:invoke"
        for r in s.get("Retry", []) + s.get("Catch", [])
        for e in r["ErrorEquals"]
    }
    assert matched - TRANSIENT_LAMBDA_ERRORS - CRASHED_FUNCTION_ERRORS - {"States.ALL"} <= raised
    assert raised <= matched


def test_bucket_is_private_encrypted_versioned_and_tls_only(template):
    resources = template.body["Resources"]
    bucket = resources["ImageBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    deny = resources["ImageBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_function_has_its_own_log_group_with_retention(template):
    for logical_id in template.resources_of_type("AWS::Serverless::Function"):
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
    from local_stack.aws.template import make_resolver, resolved

    resources = template.body["Resources"]
    attributes = {name: f"<{name}>" for name in resources}
    attributes |= {f"{name}.Arn": f"<{name}.Arn>" for name in resources}
    attributes |= {f"{name}.QueueName": f"<{name}.QueueName>" for name in resources}
    parameters = {**template.parameter_defaults(), "EndpointName": "vehicle-classifier"}
    resolve = make_resolver(parameters, attributes, {"AWS::Region": "eu-west-1", "AWS::StackName": "s"})

    # resolved as the deploy resolves it: the workflow's Fn::If (WorkflowType) decided first
    dashboard = resources["MonitoringDashboard"]["Properties"]["DashboardBody"]
    body = json.loads(resolved(dashboard, resolve, template))

    text = json.dumps(body)
    named = set(re.findall(r"<(\w+)(?:\.Arn|\.QueueName)?>", text))
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
    sources = "".join(app.read_text() for app in sorted((REPO_ROOT / "functions").glob("*/app.py")))
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
                assert metric["Dimensions"][0] == {"Name": "service", "Value": service}
                # and FilterInferences' refusals by context (issue 25): one the state machines write
                contexts = functions["FilterInferences"].event.CONTEXTS
                extra = metric["Dimensions"][1:]
                assert all(d["Name"] == "context" and d["Value"] in contexts for d in extra)


def test_alarms_notify_the_topic(template):
    for name, resource in template.body["Resources"].items():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            assert resource["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name


@pytest.fixture(scope="module")
def transformed() -> dict:
    """template.yaml as `sam deploy` sends it to CloudFormation (SAM's transform, offline: the
    one the local deploy runs)."""
    return sam_transform.expand(Template.load().body, {}, "us-east-1")["Resources"]


def test_functions_and_state_machine_are_traced_by_aws_not_by_an_sdk(transformed):
    functions = {k: v for k, v in transformed.items() if v["Type"] == "AWS::Lambda::Function"}
    assert len(functions) == 4
    for name, function in functions.items():
        assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}, name
        variables = function["Properties"]["Environment"]["Variables"]
        assert not [v for v in variables if v.startswith("POWERTOOLS_TRACE")], name  # no Tracer left
    machines = [v for v in transformed.values() if v["Type"] == "AWS::StepFunctions::StateMachine"]
    # the one-photo workflow as Standard or as Express (one of them, by WorkflowType), the batch
    assert len(machines) == 3
    for machine in machines:
        assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}


def test_opentelemetry_is_one_opt_in_switch_for_the_layer_and_its_wrapper(template, transformed):
    parameters = template.body["Parameters"]
    assert parameters["EnableOpenTelemetry"]["Default"] == "false"
    layer = parameters["OpenTelemetryLayerArn"]
    assert re.fullmatch(layer["AllowedPattern"], layer["Default"])
    assert ":layer:AWSOpenTelemetryDistroPython:" in layer["Default"]  # serves arm64 and x86_64
    assert template.body["Conditions"]["UseOpenTelemetry"] == {
        "Fn::Equals": [{"Ref": "EnableOpenTelemetry"}, "true"]
    }
    on_or_nothing = {
        "Fn::If": ["UseOpenTelemetry", [{"Ref": "OpenTelemetryLayerArn"}], {"Ref": "AWS::NoValue"}]
    }
    for name, resource in transformed.items():
        if resource["Type"] == "AWS::Lambda::Function":
            assert resource["Properties"]["Layers"] == on_or_nothing, name
            wrapper = resource["Properties"]["Environment"]["Variables"]["AWS_LAMBDA_EXEC_WRAPPER"]
            assert wrapper == {
                "Fn::If": ["UseOpenTelemetry", "/opt/otel-instrument", {"Ref": "AWS::NoValue"}]
            }

    from local_stack.aws.template import make_resolver

    for enabled, wrapper in (("false", None), ("true", "/opt/otel-instrument")):
        resolve = make_resolver(
            {**template.parameter_defaults(), "EndpointName": "e", "EnableOpenTelemetry": enabled}, {}, {}
        )
        for function in ("SerializeImageDataFunction", "ClassifyImageFunction", "FilterInferencesFunction"):
            variables = template.function_environment(function, resolve)
            assert variables.get("AWS_LAMBDA_EXEC_WRAPPER") == wrapper, (function, enabled)
            assert ("OTEL_AWS_APPLICATION_SIGNALS_ENABLED" in variables) == (enabled == "true")


def test_executions_time_out_so_the_timeout_alarm_can_fire(asl, template):
    # TimeoutSeconds has no Path form, so one number written in the file serves Fail and Review
    # (docs/workflow.md): the longest review and a day more; under Fail the functions' timeouts
    # and the finite retries bound every state
    longest_review = template.body["Parameters"]["ReviewTimeoutSeconds"]["MaxValue"]
    assert longest_review < asl["TimeoutSeconds"] <= longest_review + 86400
    waits = {name for name, state in asl["States"].items() if state["Type"] == "Task"}
    assert waits - set(TASKS) == {"CountReviewRequest", "RequestReview"}  # entered under Review only
    assert all(retry["MaxAttempts"] <= 4 for name in TASKS for retry in asl["States"][name]["Retry"])


# -- LowConfidenceAction (issue 14) -------------------------------------------------------------


def test_fail_keeps_the_seeds_path_and_review_only_adds_a_route(template):
    fail, review = (rendered_asl(template, LowConfidenceAction=a) for a in ("Fail", "Review"))
    assert fail["TimeoutSeconds"] == review["TimeoutSeconds"] > 604800  # the longest review
    assert fail["States"]["DescribeError"]["Parameters"]["low_confidence_action"] == "Fail"
    contexts = (asl["States"]["AttachExecutionId"]["Parameters"]["context"] for asl in (fail, review))
    assert tuple(contexts) == ("photo", "review")  # FilterInferences' refusals, by context
    routes = fail["States"]["RouteError"]["Choices"]
    assert routes[0]["Next"] == "CountReviewRequest"
    assert {"Variable": "$.failure.low_confidence_action", "StringEquals": "Review"} in routes[0]["And"]
    # under Fail the unsure answer meets the seed's own rule next
    assert routes[1:][-1] == {
        "Variable": "$.error.Error",
        "StringEquals": "ThresholdConfidenceNotMet",
        "Next": "ThresholdConfidenceNotMet",
    }


def test_the_review_task_waits_for_a_token_and_ends_in_named_states(template):
    asl = rendered_asl(template, LowConfidenceAction="Review", ReviewTimeoutSeconds="3600")
    task = asl["States"]["RequestReview"]
    assert task["Resource"] == "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    # a number through TimeoutSecondsPath: DescribeError makes the substituted string a number
    assert "TimeoutSeconds" not in task and task["TimeoutSecondsPath"] == "$.failure.review_timeout_seconds"
    described = asl["States"]["DescribeError"]
    assert (described["ResultPath"], described["Parameters"]["review_timeout_seconds.$"]) == (
        "$.failure",
        "States.StringToJson('3600')",
    )
    body = task["Parameters"]["MessageBody"]
    assert body["task_token.$"] == "$$.Task.Token" and body["execution_id.$"] == "$$.Execution.Id"
    assert {"s3_bucket.$", "s3_key.$", "label.$", "confidence.$", "inferences.$"} <= set(body)
    assert "image_data.$" not in body  # a message holds 256 KiB; the photo stays in S3
    catches = {c["ErrorEquals"][0]: c["Next"] for c in task["Catch"]}
    assert catches == {
        "RejectedByReviewer": "RejectedByReviewer",
        "States.Timeout": "ReviewTimedOut",
        "States.ALL": "TaskFailed",
    }
    assert asl["States"]["ReviewTimedOut"]["Error"] == "ReviewTimedOut"
    assert asl["States"]["RejectedByReviewer"]["Error"] == "RejectedByReviewer"
    decided = asl["States"]["ReviewerDecided"]["Parameters"]
    assert decided["decided_by"] == "reviewer" and decided["label.$"] == "$.verdict.label"
    assert set(decided["model"]) == {"label.$", "confidence.$", "inferences.$"}


def test_the_review_queue_is_encrypted_with_a_dead_letter_queue_and_an_age_alarm(template):
    resources = template.body["Resources"]
    queue = resources["ReviewQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert resources["ReviewDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ReviewDeadLetterQueue", "Arn"]}
    longest_review = template.body["Parameters"]["ReviewTimeoutSeconds"]["MaxValue"]
    assert queue["MessageRetentionPeriod"] > longest_review
    alarm = resources["ReviewBacklogAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ReviewQueue", "QueueName"]}}
    ]
    params = template.body["Parameters"]
    assert params["LowConfidenceAction"]["Default"] == "Fail"
    assert params["LowConfidenceAction"]["AllowedValues"] == ["Fail", "Review"]
    assert params["ReviewTimeoutSeconds"]["Default"] == 86400
    assert {"ReviewQueueUrl", "ReviewedDataLocation"} <= set(template.body["Outputs"])


# -- BatchClassify (issue 15) -------------------------------------------------------------------

BATCH_ASL_PATH = REPO_ROOT / "statemachine" / "batch_classify.asl.json"


def test_the_batch_definition_is_rendered_from_its_sources():
    result = run(sys.executable, "statemachine/render_batch.py", "--check")
    assert result.returncode == 0, result.stderr


def test_the_batch_asl_holds_only_placeholders_it_is_given(template):
    text = BATCH_ASL_PATH.read_text()
    assert not re.search(r"\d{12}", text) and not re.search(r"(us|eu|ap)-[a-z]+-\d", text)
    substitutions = template.body["Resources"]["BatchClassifyStateMachine"]["Properties"][
        "DefinitionSubstitutions"
    ]
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(substitutions)


def _photo_branch(batch: dict) -> dict:
    processor = batch["States"]["ClassifyPhotos"]["ItemProcessor"]
    inner = processor["States"]["ClassifyBatch"]["ItemProcessor"]
    (branch,) = inner["States"]["ClassifyPhoto"]["Branches"]
    return branch


def test_each_photo_runs_the_single_photo_workflows_states_less_its_review_route(template):
    single, batch = rendered_asl(template), rendered_batch_asl(template)
    branch = _photo_branch(batch)
    review = {"CountReviewRequest", "RequestReview", "CheckVerdict", "ReviewerDecided"}
    review |= {"RejectedByReviewer", "ReviewTimedOut", "InvalidVerdict"}
    assert branch["StartAt"] == single["StartAt"]
    assert set(branch["States"]) == set(single["States"]) - review
    for name in set(branch["States"]) - {"RouteError", "DescribeError"}:
        assert branch["States"][name] == single["States"][name] or name == "AttachExecutionId", name
    # the same state, whose MetricsContext the batch's substitutions give as "batch"
    attach = branch["States"]["AttachExecutionId"]
    assert attach["Parameters"].pop("context") == "batch"
    single["States"]["AttachExecutionId"]["Parameters"].pop("context")
    assert attach == single["States"]["AttachExecutionId"]
    routes = [r for r in single["States"]["RouteError"]["Choices"] if r.get("Next") not in review]
    assert branch["States"]["RouteError"]["Choices"] == routes


def test_a_batch_runs_express_children_in_batches_with_its_parameters(template):
    batch = rendered_batch_asl(
        template, BatchSize="7", BatchMaxConcurrency="300", BatchToleratedFailurePercentage="2"
    )
    photos = batch["States"]["ClassifyPhotos"]
    assert photos["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    assert photos["ItemReader"]["Resource"] == "arn:aws:states:::s3:listObjectsV2"
    # the numbers through the Map's Path fields, from SizeTheBatch: the input's, else the template's
    assert photos["ItemBatcher"]["MaxItemsPerBatchPath"] == "$.batch.sizing.batch_size"
    assert photos["MaxConcurrencyPath"] == "$.batch.sizing.max_concurrency"
    assert photos["ToleratedFailurePercentagePath"] == "$.batch.tolerated_failure_percentage"
    defaults = batch["States"]["BatchDefaults"]["Parameters"]
    assert defaults == {
        "max_concurrency.$": "States.StringToJson('300')",
        "batch_size.$": "States.StringToJson('7')",
    }
    sizing = batch["States"]["SizeTheBatch"]["Parameters"]
    assert sizing["tolerated_failure_percentage.$"] == "States.StringToJson('2')"
    assert photos["ResultWriter"]["Parameters"]["Prefix"] == "batch/results"
    assert photos["Catch"] == [
        {
            "ErrorEquals": ["States.ExceedToleratedFailureThreshold"],
            "ResultPath": "$.error",
            "Next": "TooManyPhotosFailed",
        },
        {"ErrorEquals": ["States.ItemReaderFailed"], "ResultPath": "$.error", "Next": "PhotosNotListed"},
    ]
    assert batch["States"][photos["Next"]]["Parameters"]["FunctionName"] == (
        "arn:aws:lambda:us-east-1:123456789012:function:SummarizeBatch"
    )


def test_refusals_and_bad_files_are_a_photos_result_and_other_errors_fail_its_child(functions, template):
    batch = rendered_batch_asl(template)
    inner = batch["States"]["ClassifyPhotos"]["ItemProcessor"]["States"]["ClassifyBatch"]["ItemProcessor"]
    (catcher,) = inner["States"]["ClassifyPhoto"]["Catch"]
    outcomes = set(catcher["ErrorEquals"])
    assert "ThresholdConfidenceNotMet" in outcomes and "NotAnImage" in outcomes
    transient = TRANSIENT_NAMED_ERRORS | CRASHED_FUNCTION_ERRORS | {"InvalidConfiguration", "ImageStoreError"}
    assert not outcomes & transient  # the endpoint or S3 down is no photo's fault: it counts as a failure
    raised = {
        name
        for function in functions.values()
        for name, value in vars(function.exceptions).items()
        if isinstance(value, type) and issubclass(value, Exception)
    }
    assert outcomes <= raised


def test_the_batch_parameters_bound_an_express_child_and_the_map(template):
    parameters = template.body["Parameters"]
    assert (
        parameters["BatchSize"]["MaxValue"] <= 20
    )  # a batch's photos with every retry stay inside 5 minutes
    assert parameters["BatchMaxConcurrency"]["MaxValue"] == 10000  # Distributed Map's limit
    assert (
        parameters["BatchToleratedFailurePercentage"]["MinValue"],
        parameters["BatchToleratedFailurePercentage"]["MaxValue"],
    ) == (0, 100)
    assert {"BatchClassifyStateMachineArn", "BatchResultsLocation"} <= set(template.body["Outputs"])
