"""The evaluator against the rules of the IAM User Guide, "Policy evaluation logic"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html), its
pages on NotAction, NotResource and the condition operators, on moto's evaluator as patched."""

from __future__ import annotations

import json

import pytest

from local_stack.aws import moto_patches
from local_stack.aws.iam.policy_evaluation import Decision, PolicySet
from local_stack.aws.iam.policy_language import UnsupportedConditionOperator, condition_met, matches_any


@pytest.fixture(autouse=True)
def _patched_moto():
    moto_patches.install("server")


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource, **more) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


OBJECT = "arn:aws:s3:::bucket/images/a.png"


def test_an_explicit_deny_wins_over_an_allow_in_any_policy():
    # "An explicit deny in any policy overrides any allows."
    allowing = policy(allow("s3:*", "*"))
    denying = policy({"Effect": "Deny", "Action": "s3:GetObject", "Resource": OBJECT})
    assert PolicySet((allowing, denying)).decide("s3:GetObject", OBJECT) is Decision.EXPLICIT_DENY
    assert PolicySet((allowing,)).decide("s3:GetObject", OBJECT) is Decision.ALLOW


def test_nothing_allows_by_default():
    assert (
        PolicySet((policy(allow("s3:PutObject", OBJECT)),)).decide("s3:GetObject", OBJECT)
        is Decision.IMPLICIT_DENY
    )
    assert PolicySet(()).decide("s3:GetObject", OBJECT) is Decision.IMPLICIT_DENY


def test_not_action_allows_every_action_but_those_listed():
    statement = {"Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": "*"}
    policies = PolicySet((policy(statement),))
    assert policies.decide("s3:GetObject", OBJECT).allowed
    assert not policies.decide("s3:DeleteObject", OBJECT).allowed


def test_not_resource_applies_to_every_resource_but_those_listed():
    # moto as shipped allows everything for a statement with NotResource and no Resource
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::bucket/secret/*"}
    policies = PolicySet((policy(statement),))
    assert policies.decide("s3:GetObject", OBJECT).allowed
    assert not policies.decide("s3:GetObject", "arn:aws:s3:::bucket/secret/k").allowed
    deny_outside = {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::bucket/images/*"}
    both = PolicySet((policy(allow("s3:*", "*"), deny_outside),))
    assert both.decide("s3:GetObject", OBJECT).allowed
    assert both.decide("s3:GetObject", "arn:aws:s3:::bucket/other/k") is Decision.EXPLICIT_DENY


def test_wildcards_star_and_question_mark_in_actions_and_arns():
    policies = PolicySet((policy(allow("s3:Get*", "arn:aws:s3:::bucket/images/?.png")),))
    assert policies.decide("s3:GetObject", OBJECT).allowed
    assert policies.decide("S3:getobject", OBJECT).allowed  # action names are case-insensitive
    assert not policies.decide("s3:GetObject", "arn:aws:s3:::bucket/images/ab.png").allowed
    assert not policies.decide("s3:GetObject", "arn:aws:s3:::bucket/images/a.PNG").allowed  # ARNs are not
    # "." is a literal, not any character (moto as shipped used an unescaped regex)
    dotted = PolicySet((policy(allow("s3:GetObject", "arn:aws:s3:::bucket/a.png")),))
    assert not dotted.decide("s3:GetObject", "arn:aws:s3:::bucket/aXpng").allowed


def test_string_like_on_s3_prefix():
    listing = allow(
        "s3:ListBucket",
        "arn:aws:s3:::bucket",
        Condition={"StringLike": {"s3:prefix": ["images/*", "uploads/*"]}},
    )
    policies = PolicySet((policy(listing),))
    assert policies.decide("s3:ListBucket", "arn:aws:s3:::bucket", {"s3:prefix": "uploads/x"}).allowed
    assert not policies.decide("s3:ListBucket", "arn:aws:s3:::bucket", {"s3:prefix": "other/"}).allowed
    assert not policies.decide("s3:ListBucket", "arn:aws:s3:::bucket").allowed  # no prefix: the key is absent


def test_an_unmet_condition_does_not_deny():
    # moto as shipped turns an unmet condition into DENIED, which would beat the other Allow
    conditional = allow(
        "cloudwatch:PutMetricData", "*", Condition={"StringEquals": {"cloudwatch:namespace": "A"}}
    )
    plain = allow("cloudwatch:PutMetricData", "*")
    policies = PolicySet((policy(conditional), policy(plain)))
    assert policies.decide("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "B"}) is Decision.ALLOW
    alone = PolicySet((policy(conditional),))
    assert (
        alone.decide("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "B"}) is Decision.IMPLICIT_DENY
    )


def test_condition_operators_as_documented():
    assert condition_met(
        {"ArnLike": {"aws:SourceArn": "arn:aws:events:*:123:rule/up*"}},
        {"aws:sourcearn": "arn:aws:events:us-east-1:123:rule/upload"},
    )
    assert not condition_met(
        {"ArnEquals": {"aws:SourceArn": "arn:aws:events:*:123:rule/a"}},
        {"aws:SourceArn": "arn:aws:events:us:east:123:rule/a"},
    )
    assert condition_met({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "False"})
    # a negated operator holds when the key is absent; IfExists holds when it is absent
    assert condition_met({"StringNotEquals": {"aws:SourceAccount": "1"}}, {})
    assert condition_met({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, {})
    assert not condition_met({"StringEquals": {"aws:SourceAccount": "1"}}, {})
    with pytest.raises(UnsupportedConditionOperator):
        condition_met({"NumericLessThan": {"k": "1"}}, {"k": "0"})


def test_matches_any_takes_one_pattern_or_a_list():
    assert matches_any("a*", "abc", False) and matches_any(["x", "a?c"], "abc", False)
