"""Role trust policies as IAM evaluates them, in moto in-process with enforcement on: a non-root
caller's AssumeRole needs the trust policy to name it (or its account, and then its own
identity policy to allow sts:AssumeRole); the Lambda and Step Functions service principals
take a role only if its trust policy names the service, at CreateFunction/CreateStateMachine
and whenever the service assumes it."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

from local_stack.aws.iam import credentials, role_sessions
from local_stack.aws.iam.trust_policy import Caller, Trust, trust
from tests.conftest import iam_enforced

REGION = "us-east-1"
ACCOUNT = "123456789012"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/reviewer"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/Target"


def trusting(*principals_: dict, effect: str = "Allow") -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": effect, "Principal": p, "Action": "sts:AssumeRole"} for p in principals_],
    }


LAMBDA = {"Service": "lambda.amazonaws.com"}
STATES = {"Service": "states.amazonaws.com"}
ACCOUNT_ROOT = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
THE_USER = {"AWS": USER_ARN}
ASSUME = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE_ARN}


@pytest.fixture
def aws(monkeypatch):
    with iam_enforced(monkeypatch, "server") as admin:
        yield admin


def target_role(admin, trust_document: dict) -> None:
    admin.client("iam").create_role(RoleName="Target", AssumeRolePolicyDocument=json.dumps(trust_document))


def reviewer(admin, statements: list[dict]) -> boto3.Session:
    """An IAM user with its own key and ``statements`` as its identity policy."""
    iam = admin.client("iam")
    iam.create_user(UserName="reviewer")
    if statements:
        document = json.dumps({"Version": "2012-10-17", "Statement": statements})
        iam.put_user_policy(UserName="reviewer", PolicyName="own", PolicyDocument=document)
    key = iam.create_access_key(UserName="reviewer")["AccessKey"]
    return boto3.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
    )


def assume(session: boto3.Session) -> str:
    answer = session.client("sts").assume_role(RoleArn=ROLE_ARN, RoleSessionName="review")
    return answer["AssumedRoleUser"]["Arn"]


def refusal(session: boto3.Session) -> dict:
    with pytest.raises(ClientError) as refused:
        assume(session)
    return refused.value.response["Error"]


def test_a_trust_policy_naming_only_a_service_refuses_a_user_allowed_by_its_own_policy(aws):
    target_role(aws, trusting(LAMBDA))
    error = refusal(reviewer(aws, [ASSUME]))
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == (
        f"User: {USER_ARN} is not authorized to perform: sts:AssumeRole on resource: {ROLE_ARN} "
        "because no resource-based policy allows the sts:AssumeRole action"
    )


def test_a_trust_policy_naming_the_account_lets_in_whom_the_identity_policy_allows(aws):
    target_role(aws, trusting(ACCOUNT_ROOT))
    assert assume(reviewer(aws, [ASSUME])) == f"arn:aws:sts::{ACCOUNT}:assumed-role/Target/review"


def test_a_trust_policy_naming_the_account_refuses_without_an_identity_grant(aws):
    target_role(aws, trusting(ACCOUNT_ROOT))
    error = refusal(reviewer(aws, []))
    assert error["Message"].endswith("because no identity-based policy allows the sts:AssumeRole action")


def test_a_trust_policy_naming_the_user_itself_needs_no_identity_grant(aws):
    target_role(aws, trusting(THE_USER))
    assert assume(reviewer(aws, [])).endswith(":assumed-role/Target/review")


def test_an_explicit_deny_wins_in_either_policy(aws):
    target_role(
        aws,
        {
            "Version": "2012-10-17",
            "Statement": [*trusting(THE_USER)["Statement"], *trusting(THE_USER, effect="Deny")["Statement"]],
        },
    )
    error = refusal(reviewer(aws, [ASSUME]))
    assert error["Message"].endswith("with an explicit deny in a resource-based policy")

    aws.client("iam").update_assume_role_policy(
        RoleName="Target", PolicyDocument=json.dumps(trusting(THE_USER))
    )
    aws.client("iam").put_user_policy(
        UserName="reviewer",
        PolicyName="deny",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{**ASSUME, "Effect": "Deny"}]}),
    )
    session = boto3.Session(  # the same key; its policies are read again after the IAM writes
        aws_access_key_id=aws.client("iam").list_access_keys(UserName="reviewer")["AccessKeyMetadata"][0][
            "AccessKeyId"
        ],
        aws_secret_access_key="unused",
        region_name=REGION,
    )
    assert refusal(session)["Message"].endswith("with an explicit deny in an identity-based policy")


def test_service_principals_match_by_service_name_and_region():
    document = trusting(STATES)
    assert trust(document, Caller.for_service("states.amazonaws.com", REGION)) is Trust.NAMED
    assert (
        trust(
            trusting({"Service": "states.us-east-1.amazonaws.com"}),
            Caller.for_service("states.amazonaws.com", REGION),
        )
        is Trust.NAMED
    )
    assert trust(document, Caller.for_service("lambda.amazonaws.com", REGION)) is Trust.NOT_NAMED
    assert trust(trusting(ACCOUNT_ROOT), Caller.for_principal(USER_ARN)) is Trust.ACCOUNT
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/Reviewer/me"
    assert (
        trust(trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:role/Reviewer"}), Caller.for_principal(session))
        is Trust.NAMED
    )


def _zip() -> bytes:
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return code.getvalue()


def test_lambda_takes_a_role_only_if_its_trust_policy_names_lambda(aws):
    iam, lambda_client = aws.client("iam"), aws.client("lambda")
    states_only = iam.create_role(
        RoleName="StatesOnly", AssumeRolePolicyDocument=json.dumps(trusting(STATES))
    )
    lambda_role = iam.create_role(
        RoleName="LambdaRole", AssumeRolePolicyDocument=json.dumps(trusting(LAMBDA))
    )
    function = {"Runtime": "python3.13", "Handler": "app.handler", "Code": {"ZipFile": _zip()}}

    with pytest.raises(ClientError) as refused:
        lambda_client.create_function(FunctionName="classify", Role=states_only["Role"]["Arn"], **function)
    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "InvalidParameterValueException",
        "The role defined for the function cannot be assumed by Lambda.",
    )

    lambda_client.create_function(FunctionName="classify", Role=lambda_role["Role"]["Arn"], **function)
    keys = credentials.function_environment(lambda_client, aws.client("sts"), "classify", aws.client("iam"))
    assert keys["AWS_ACCESS_KEY_ID"] and keys["AWS_SESSION_TOKEN"]
    with pytest.raises(role_sessions.RoleNotAssumable):
        credentials.service_role_session(
            iam, aws.client("sts"), states_only["Role"]["Arn"], role_sessions.LAMBDA, "classify", REGION
        )


def test_step_functions_takes_a_role_only_if_its_trust_policy_names_states(aws):
    iam, sfn = aws.client("iam"), aws.client("stepfunctions")
    lambda_only = iam.create_role(
        RoleName="LambdaOnly", AssumeRolePolicyDocument=json.dumps(trusting(LAMBDA))
    )
    states_role = iam.create_role(
        RoleName="StatesRole", AssumeRolePolicyDocument=json.dumps(trusting(STATES))
    )
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})

    with pytest.raises(ClientError) as refused:
        sfn.create_state_machine(name="m", definition=definition, roleArn=lambda_only["Role"]["Arn"])
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert refused.value.response["Error"]["Message"] == (
        "Neither the global service principal states.amazonaws.com, nor the regional one is authorized "
        "to assume the provided role."
    )
    sfn.create_state_machine(name="m", definition=definition, roleArn=states_role["Role"]["Arn"])

    held = role_sessions.service_credentials(states_role["Role"]["Arn"], role_sessions.STATES, REGION)
    assert role_sessions.service_credentials(states_role["Role"]["Arn"], role_sessions.STATES, REGION) is held
    with pytest.raises(role_sessions.RoleNotAssumable):
        role_sessions.service_credentials(lambda_only["Role"]["Arn"], role_sessions.STATES, REGION)
