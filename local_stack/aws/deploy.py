"""The local ``sam deploy``: create what template.yaml creates, as CloudFormation does, in moto.

Works the same against moto in-process (``mock_aws``, the unit tests) and against the moto
server (``python -m local_stack up``): it only speaks boto3.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
from botocore.exceptions import ClientError

from local_stack.aws import lambda_runtime, moto_patches, resource_handlers, sam_transform, stack_record
from local_stack.aws.iam import credentials
from local_stack.aws.template import Template, make_resolver, resolved
from local_stack.errors import InvalidBucketName, TemplateError
from local_stack.processes.execution_environments import ExecutionEnvironments, FunctionSpec
from local_stack.settings import ACCOUNT_ID, STACK_NAME

STATE_MACHINE_ID = "ClassifyImageStateMachine"
EXPRESS_STATE_MACHINE_ID = "ClassifyImageExpressStateMachine"  # WorkflowType Express's instead
BATCH_STATE_MACHINE_ID = "BatchClassifyStateMachine"
REVIEWER_POLICY_ID = "ReviewerPolicy"  # the policy whose stand-in holder is <stack>-Reviewer
# the single-photo workflow's functions (bench's direct loop calls these), and the batch's own
FUNCTION_IDS = ("SerializeImageDataFunction", "ClassifyImageFunction", "FilterInferencesFunction")
BATCH_FUNCTION_IDS = ("SummarizeBatchFunction",)


# S3's naming rules for general purpose buckets, in the order its documentation lists them
_RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def check_bucket_name(bucket: str) -> None:
    reserved = [p for p in _RESERVED_BUCKET_PREFIXES if bucket.startswith(p)] + [
        s for s in _RESERVED_BUCKET_SUFFIXES if bucket.endswith(s)
    ]
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
        problem = "3-63 lower-case letters, digits, dots and hyphens, a letter or digit at each end"
    elif ".." in bucket:
        problem = "no two adjacent dots"
    elif re.fullmatch(r"\d+(\.\d+){3}", bucket):  # "formatted as an IP address", valid one or not
        problem = "not formatted as an IP address"
    elif reserved:
        problem = f"{reserved[0]!r} is reserved by S3"
    else:
        return
    raise InvalidBucketName(f"bucket name {bucket!r} is not valid in S3: {problem}")


@dataclass(frozen=True)
class StackResource:
    """One resource of the transformed template as deployed: what IAM enforcement maps a
    principal by (a function's, a state machine's, a rule's role)."""

    logical_id: str
    resource_type: str
    physical_id: str
    arn: str
    role_arn: str = ""  # a function's Role, a state machine's RoleArn, a rule target's RoleArn


@dataclass
class DeployedStack:
    stack_name: str
    bucket: str
    state_machine_arn: str
    function_names: dict[str, str]
    parameters: dict[str, str]
    # describe-stacks' Outputs: template.yaml's, with the local values
    outputs: dict[str, str] = field(default_factory=dict)
    # the template's log groups: {logical id: name}
    log_groups: dict[str, str] = field(default_factory=dict)
    functions: dict[str, SimpleNamespace] = field(repr=False, default_factory=dict)
    # the worker processes the functions run in, if any; whoever deployed closes them
    environments: ExecutionEnvironments | None = field(repr=False, default=None)
    # BatchClassify: the Distributed Map over a prefix (docs/batch.md)
    batch_state_machine_arn: str = ""
    # every resource of the transformed template: {logical id: StackResource}
    resources: dict[str, StackResource] = field(repr=False, default_factory=dict)
    # <stack>-Reviewer, the local stand-in for whoever holds ReviewerPolicy (not a stack resource)
    reviewer_role_arn: str = ""

    def of_type(self, resource_type: str) -> dict[str, StackResource]:
        return {k: r for k, r in self.resources.items() if r.resource_type == resource_type}


def deploy(
    session: boto3.Session,
    *,
    endpoint_name: str,
    bucket: str,
    stack_name: str = STACK_NAME,
    parameters: dict[str, str] | None = None,
    template: Template | None = None,
    execution_environments: int = 0,
    function_log: Path | None = None,
) -> DeployedStack:
    """Deploy the template as CloudFormation does: expand it with the SAM transform
    (``sam_transform``), create every resource of the result in dependency order through its
    service's API (``resource_handlers``), then record the stack, every resource with its
    physical id, in the local CloudFormation (``stack_record``). Idempotent: a second deploy
    updates what exists.

    The functions run our handlers in ``execution_environments`` worker processes (see
    ``local_stack.processes.execution_environments``; their logs go to ``function_log``; the
    caller closes ``DeployedStack.environments``), or, with 0, in this process, one invocation at
    a time (``DeployedStack.functions`` holds their modules). A later deploy registers its own.
    """
    template = template or Template.load()
    moto_patches.install()
    template.check_parameters({**(parameters or {}), "EndpointName": endpoint_name})
    check_bucket_name(bucket)
    params = {**template.parameter_defaults(), **(parameters or {}), "EndpointName": endpoint_name}
    pseudo = {
        "AWS::Partition": "aws",
        "AWS::Region": session.region_name,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::StackName": stack_name,
        "AWS::URLSuffix": "amazonaws.com",
    }
    expanded = Template(sam_transform.expand(template.body, params, session.region_name))
    attributes: dict[str, str] = {}
    resolve = make_resolver(params, attributes, pseudo)
    cloudformation = session.client("cloudformation")
    pseudo["AWS::StackId"] = stack_record.ensure_stack(cloudformation, stack_name, params)
    clients = functools.cache(session.client)
    context = resource_handlers.Context(
        clients,
        stack_name,
        session.region_name,
        bucket,
        stack_record.physical_ids(cloudformation, stack_name),
    )
    deployed: dict[str, StackResource] = {}
    recorded: dict[str, resource_handlers.Created] = {}
    specs: dict[str, tuple[str, FunctionSpec]] = {}
    for logical_id in dependency_order(expanded):
        resource = expanded.body["Resources"][logical_id]
        if "Condition" in resource and not expanded.condition_holds(resource["Condition"], resolve):
            continue
        properties = resolved(resource.get("Properties", {}), resolve, expanded)
        created = resource_handlers.create(context, logical_id, resource["Type"], properties)
        recorded[logical_id] = created
        attributes[logical_id] = created.ref or created.physical_id
        attributes.update({f"{logical_id}.{name}": value for name, value in created.attributes.items()})
        deployed[logical_id] = StackResource(
            logical_id,
            resource["Type"],
            created.physical_id,
            created.arn,
            _role_of(resource["Type"], properties),
        )
        if resource["Type"] == "AWS::Lambda::Function":
            specs[logical_id] = (created.physical_id, _function_spec(properties))
    specs = _acting_as_their_roles(specs, clients)
    reviewer = deployed.get(REVIEWER_POLICY_ID)
    reviewer_role_arn = (
        resource_handlers.reviewer_role(clients("iam"), stack_name, reviewer.physical_id) if reviewer else ""
    )
    functions, environments = _run_functions(specs, execution_environments, function_log)
    try:
        body = stack_record.stack_template(expanded, resolve, params, recorded)
        stack_record.record_stack(cloudformation, stack_name, body, params)
        outputs = stack_record.stack_outputs(cloudformation, stack_name)
    except BaseException:
        if environments is not None:
            environments.close()
        raise
    return DeployedStack(
        stack_name,
        bucket,
        (deployed.get(STATE_MACHINE_ID) or deployed[EXPRESS_STATE_MACHINE_ID]).arn,
        {logical_id: name for logical_id, (name, _) in specs.items()},
        params,
        outputs,
        {k: r.physical_id for k, r in deployed.items() if r.resource_type == "AWS::Logs::LogGroup"},
        functions,
        environments,
        deployed[BATCH_STATE_MACHINE_ID].arn,
        deployed,
        reviewer_role_arn,
    )


def _role_of(resource_type: str, properties: dict) -> str:
    if resource_type == "AWS::Lambda::Function":
        return properties["Role"]
    if resource_type == "AWS::StepFunctions::StateMachine":
        return properties["RoleArn"]
    if resource_type == "AWS::Events::Rule":
        roles = {target["RoleArn"] for target in properties.get("Targets", []) if "RoleArn" in target}
        return roles.pop() if len(roles) == 1 else ""
    return ""


def _acting_as_their_roles(
    specs: dict[str, tuple[str, FunctionSpec]], clients: Any
) -> dict[str, tuple[str, FunctionSpec]]:
    """Each function's spec with its role's temporary credentials in its environment, as Lambda
    gives them (AssumeRole as lambda.amazonaws.com, the function's name as the session name:
    ``credentials.function_environment``). They last the role's MaxSessionDuration; moto's STS
    never expires a session, so a long-running ``up`` keeps them (Lambda renews them on AWS)."""
    lambda_client, sts, iam = clients("lambda"), clients("sts"), clients("iam")
    return {
        logical_id: (
            name,
            dataclasses.replace(
                spec,
                environment={
                    **spec.environment,
                    **credentials.function_environment(lambda_client, sts, name, iam=iam),
                },
            ),
        )
        for logical_id, (name, spec) in specs.items()
    }


def _function_spec(properties: dict) -> FunctionSpec:
    """Where and how the local stack runs a function: all from its transformed properties."""
    return FunctionSpec(
        sam_transform.artifact_path(properties["Code"]),
        {name: str(value) for name, value in properties.get("Environment", {}).get("Variables", {}).items()},
        float(properties.get("Timeout", 3)),  # Lambda's defaults: 3 s, 128 MB
        log_group=properties.get("LoggingConfig", {}).get("LogGroup"),
        memory_size_mb=int(properties.get("MemorySize", 128)),
    )


def dependency_order(template: Template) -> list[str]:
    """The template's resources, each after every resource it names (Ref, Fn::GetAtt, Fn::Sub,
    DependsOn), in the template's order otherwise, as CloudFormation orders its creations."""
    resources = template.body["Resources"]
    needs = {
        logical_id: _named(resource, set(resources)) - {logical_id}
        for logical_id, resource in resources.items()
    }
    order: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in order:
            return
        if logical_id in visiting:
            raise TemplateError(f"circular dependency through {logical_id}")
        visiting.add(logical_id)
        for needed in sorted(needs[logical_id]):
            visit(needed)
        visiting.discard(logical_id)
        order.append(logical_id)

    for logical_id in resources:
        visit(logical_id)
    return order


def _named(value: Any, resource_ids: set[str]) -> set[str]:
    """The resources a template value names."""
    found: set[str] = set()
    if isinstance(value, dict):
        for kind, argument in value.items():
            if kind == "Ref" and argument in resource_ids:
                found.add(argument)
            elif kind == "Fn::GetAtt":
                found.add(argument[0] if isinstance(argument, list) else argument.split(".")[0])
            elif kind == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= _named(argument, resource_ids)
            elif kind == "DependsOn":
                found |= {argument} if isinstance(argument, str) else set(argument)
            else:
                found |= _named(argument, resource_ids)
    elif isinstance(value, list):
        for item in value:
            found |= _named(item, resource_ids)
    return found & resource_ids


def _run_functions(
    created: dict[str, tuple[str, FunctionSpec]], execution_environments: int, function_log: Path | None
) -> tuple[dict[str, SimpleNamespace], ExecutionEnvironments | None]:
    """Register where each function's invocations run: in ``execution_environments`` worker
    processes, or (0) here, one at a time; returns the modules loaded here and the pool."""
    if execution_environments:
        specs = dict(created.values())
        environments = ExecutionEnvironments(specs, execution_environments, function_log)
        for name in specs:
            lambda_runtime.register_invoker(name, functools.partial(environments.invoke, name))
        return {}, environments
    functions = {}
    for logical_id, (name, spec) in created.items():
        started = time.perf_counter()
        functions[logical_id] = lambda_runtime.load_function(spec.code_dir, spec.environment)
        lambda_runtime.register(
            name,
            functions[logical_id].app.lambda_handler,
            log_group=spec.log_group,
            memory_size_mb=spec.memory_size_mb,
            init_ms=(time.perf_counter() - started) * 1000,
            credentials={k: v for k, v in spec.environment.items() if k in credentials.CREDENTIAL_VARIABLES},
        )
    return functions, None


def create_bucket(s3: Any, bucket: str, region: str) -> None:
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
