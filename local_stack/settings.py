"""The local stack's fixed facts, shared by its rooms (so that no room imports another for a
constant): where the repository is, and the names and addresses the stack answers with."""

from __future__ import annotations

from pathlib import Path

from scones_core.project import DEFAULT_STACK_NAME

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
SAMPLES_DIR = REPO_ROOT / "samples" / "images"
SAMPLES_LST = REPO_ROOT / "samples" / "images.lst"
EVENTS_DIR = REPO_ROOT / "events"

# samconfig.toml's stack_name: the AWS commands of docs/cloud.md name it, and run verbatim against `up`
STACK_NAME = DEFAULT_STACK_NAME
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account, the one the local stack pretends to be
LOOPBACK = "127.0.0.1"
DEFAULT_ENDPOINT_NAME = "vehicle-classifier-local"
# the bucket the sample events name (events/*.json): `aws lambda invoke --payload fileb://events/...`
# against `up` reads a bucket of the stack, which its functions' roles may read (any other bucket:
# ImageAccessDenied, as on AWS)
DEFAULT_BUCKET = "scones-vehicle-images"
CAPTURE_PREFIX = "data-capture"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
DEFAULT_EXECUTION_ENVIRONMENTS = 4
# Ended executions the local Step Functions keeps (AWS keeps them 90 days); see the
# `--retain-executions` help for the memory each one costs.
DEFAULT_RETAIN_EXECUTIONS = 1000
# Log events the local CloudWatch Logs keeps per log group, the oldest dropped first (AWS: the
# group's RetentionInDays); see the `--retain-log-events` help. The state machine's group takes
# ~21 events an execution, a function's ~6 an invocation.
DEFAULT_RETAIN_LOG_EVENTS = 10_000
