"""An upload starts an execution, as in AWS: the bucket sends ``Object Created`` to EventBridge,
and the template's ``UploadRule`` starts the state machine with ``{"s3_bucket", "s3_key"}``.

moto 5.2.5 cannot carry this: its S3 sends EventBridge events only from its own in-process
backend (the local S3 is another process), and its EventBridge has no Step Functions target
(nor does it refuse a pattern operator it does not know). So the local S3 process does
EventBridge's share itself, with the template's own rule: the functions below build the event
S3 would send; ``aws.eventbridge`` matches it against the rule's ``EventPattern`` and applies
its ``InputTransformer``; ``UploadTrigger`` (a queue and its worker threads in the S3 process)
then calls StartExecution on the stack's Step Functions, off the S3 request's thread, never in
its way.

An event follows every stored object, as on AWS, even when the S3 process is killed, and none
follows an object that was never stored. The event is journaled (``aws.delivery_journal``) as an
intent before the object is written (``intend``); the write's entry in the S3 journal names the
intent (``processes.s3_journal``), and once the write is stored the event is queued (``confirm``;
a write moto refused ``cancel``s it); the worker marks it done once delivered. A restarted S3
process (``resume``) reconciles what the journal still owes against what its store holds: an
intent whose write the S3 journal holds is delivered (its object was stored, whether or not the
client heard so before the kill), one whose write never reached it is dropped (no object, no
event). Why the S3 journal and not the object's ETag and size: two uploads of the same bytes to
one key have the same ETag, a copy's or a multipart upload's ETag is known only after the write,
and a later write or delete of the key does not undo the event of an earlier one. So delivery is
at least once, as EventBridge's: an event delivered in the instant before its process died, not
yet marked, is delivered again (at most one per worker: those in flight at the kill). On AWS
too, S3 and EventBridge may deliver one event twice, and the template's target names no
execution (StartExecution without a name: Step Functions draws a UUID), so there a duplicate
also starts a second execution of the same photo; a name would not help, since Step Functions
refuses a closed execution's name (``ExecutionAlreadyExists``) rather than answering it again.
An event recovered so carries the request id and time drawn with its intent (the answer's own
request id was never recorded) and its object's size, ETag and version as HeadObject finds them.

The rule is read from the deployed stack (``deployed_upload_rule``: EventBridge's DescribeRule
and ListTargetsByRule, as the deploy put the transformed template's ``UploadRule``), and the
target is called as EventBridge calls it: StartExecution with the temporary credentials of the
target's ``RoleArn`` (AssumeRole as ``events.amazonaws.com``, with the ``aws:SourceAccount`` and
``aws:SourceArn`` condition keys EventBridge sends: the role's trust policy checks the first),
assumed again 5 minutes before they expire. A StartExecution the role may not make is not tried
again and goes to the dead-letter queue (``AccessDeniedException``), as EventBridge does with a
missing permission (EventBridge User Guide, "Using dead-letter queues",
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html); a role the service
may not assume does too (``FAILED_TO_ASSUME_ROLE``). The dead letter is sent as EventBridge
sends it, as the service, which no identity policy covers: the queue's resource policy must
allow ``events.amazonaws.com`` to ``sqs:SendMessage`` with the rule as ``aws:SourceArn``. The
local evaluator decides identity policies only, so the worker decides that policy itself
(``trust_policy.trust`` on the queue's ``Policy`` attribute) and sends with the stack's key;
a queue whose policy does not allow it gets nothing and the event is one line on stderr (on
AWS: dropped, counted in ``InvocationsFailedToBeSentToDlq``).

What differs from AWS, on purpose: a StartExecution that fails is tried again a few times over
a few seconds (``LOCAL_RETRY_DELAYS``), not for up to an hour (locally, a Step Functions that
does not answer for seconds is a stack being stopped).
"""

from __future__ import annotations

import json
import queue
import re
import secrets
import string
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

import boto3
from botocore.config import Config

from local_stack.aws.delivery_journal import DeliveryJournal
from local_stack.aws.eventbridge import (
    InvalidTransformedInput,
    check_event_pattern,
    matches,
    transformed_input,
)
from local_stack.aws.iam import credentials, role_sessions
from local_stack.aws.iam.role_sessions import RoleNotAssumable
from local_stack.aws.iam.trust_policy import Caller, Trust, trust
from local_stack.aws.template import Template, make_resolver
from local_stack.errors import TemplateError
from local_stack.settings import ACCOUNT_ID, FAKE_CREDENTIALS, REGION, STACK_NAME

RULE_ID = "UploadRule"
UPLOAD_LOCATION_OUTPUT = "UploadLocation"
DEAD_LETTER_QUEUE_ID = "UploadDeadLetterQueue"
# seconds between StartExecution attempts (EventBridge backs off up to the rule's hour)
LOCAL_RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0)
# ------------------------------------------------------------------ the rule, from the template


@dataclass(frozen=True)
class UploadRule:
    """The template's ``UploadRule``, resolved for one deployed stack."""

    event_pattern: dict
    state_machine_arn: str
    input_paths: dict[str, str]
    input_template: str
    maximum_retry_attempts: int
    dead_letter_queue_arn: str | None = None
    rule_arn: str = ""  # the deployed rule's ARN (the dead letter's RULE_ARN, aws:SourceArn)
    role_arn: str | None = None  # the target's RoleArn: StartExecution acts as it


def upload_rule(
    template: Template,
    *,
    bucket: str,
    state_machine_arn: str,
    parameters: Mapping[str, str],
    dead_letter_queue_arn: str | None = None,
) -> UploadRule:
    """Read ``UploadRule`` from the template, resolved as CloudFormation would for this stack
    (``!Ref ImageBucket`` -> ``bucket``, ``!Sub ${UploadPrefix}...`` -> the deployed parameters).
    Its DeadLetterConfig counts only when the stack has that queue (``dead_letter_queue_arn``).
    Raises ``UnsupportedEventPattern`` for a pattern the matcher cannot honour."""
    resource = template.body.get("Resources", {}).get(RULE_ID)
    if resource is None:
        raise TemplateError(f"the template has no {RULE_ID}")
    properties = resource["Properties"]
    # the one-photo workflow, Standard or Express (WorkflowType): the target's Fn::If names one
    attributes = {
        "ImageBucket": bucket,
        "ClassifyImageStateMachine": state_machine_arn,
        "ClassifyImageExpressStateMachine": state_machine_arn,
    }
    if dead_letter_queue_arn:
        attributes[f"{DEAD_LETTER_QUEUE_ID}.Arn"] = dead_letter_queue_arn
    resolve = make_resolver(parameters, attributes, _pseudo_parameters())
    targets = properties.get("Targets", [])
    if len(targets) != 1:
        raise TemplateError(
            f"{RULE_ID} has {len(targets)} targets; the local trigger starts one state machine"
        )
    (target,) = targets
    transformer = target.get("InputTransformer", {})
    pattern = _resolved(properties["EventPattern"], resolve)
    check_event_pattern(pattern)
    dead_letter = target.get("DeadLetterConfig", {}).get("Arn")
    return UploadRule(
        event_pattern=pattern,
        state_machine_arn=resolve(template.chosen(target["Arn"], resolve)),
        input_paths=dict(transformer.get("InputPathsMap", {})),
        input_template=transformer.get("InputTemplate", "<aws.events.event>"),
        maximum_retry_attempts=int(target.get("RetryPolicy", {}).get("MaximumRetryAttempts", 185)),
        dead_letter_queue_arn=resolve(dead_letter) if dead_letter and dead_letter_queue_arn else None,
    )


def deployed_upload_rule(events: Any, rule_name: str) -> UploadRule:
    """The rule as the deploy put it in EventBridge (the transformed template's ``UploadRule``,
    every intrinsic resolved): its pattern (DescribeRule) and its one target (ListTargetsByRule),
    with the target's RoleArn, InputTransformer, RetryPolicy and DeadLetterConfig. Raises
    ``UnsupportedEventPattern`` for a pattern the matcher cannot honour."""
    described = events.describe_rule(Name=rule_name)
    targets = events.list_targets_by_rule(Rule=rule_name)["Targets"]
    if len(targets) != 1:
        raise TemplateError(
            f"{rule_name} has {len(targets)} targets; the local trigger starts one state machine"
        )
    (target,) = targets
    pattern = json.loads(described["EventPattern"])
    check_event_pattern(pattern)
    transformer = target.get("InputTransformer", {})
    return UploadRule(
        event_pattern=pattern,
        state_machine_arn=target["Arn"],
        input_paths=dict(transformer.get("InputPathsMap", {})),
        input_template=transformer.get("InputTemplate", "<aws.events.event>"),
        maximum_retry_attempts=int(target.get("RetryPolicy", {}).get("MaximumRetryAttempts", 185)),
        dead_letter_queue_arn=target.get("DeadLetterConfig", {}).get("Arn"),
        rule_arn=described["Arn"],
        role_arn=target.get("RoleArn"),
    )


def upload_location(template: Template, *, bucket: str, parameters: Mapping[str, str]) -> str:
    """The template's ``UploadLocation`` output for this stack, e.g. ``s3://bucket/incoming/``."""
    outputs = template.body.get("Outputs", {})
    if UPLOAD_LOCATION_OUTPUT not in outputs:
        raise TemplateError(f"the template has no output {UPLOAD_LOCATION_OUTPUT}")
    resolve = make_resolver(parameters, {"ImageBucket": bucket}, _pseudo_parameters())
    return resolve(outputs[UPLOAD_LOCATION_OUTPUT]["Value"])


def _pseudo_parameters() -> dict[str, str]:
    return {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::StackName": STACK_NAME,
    }


def _resolved(value: Any, resolve: Callable[[Any], str]) -> Any:
    """``value`` with each intrinsic function (``Ref``, ``Fn::...``) resolved; literals keep their
    type (a number in a pattern stays a number)."""
    if isinstance(value, dict):
        if len(value) == 1 and _is_intrinsic(next(iter(value))):
            return resolve(value)
        return {name: _resolved(item, resolve) for name, item in value.items()}
    if isinstance(value, list):
        return [_resolved(item, resolve) for item in value]
    return value


def _is_intrinsic(name: str) -> bool:
    return name == "Ref" or name.startswith("Fn::")


# ------------------------------------------------------------------ the event S3 sends


@dataclass(frozen=True)
class ObjectCreated:
    """An object S3 accepted, as its EventBridge event tells it. ``reason`` is the API that
    created it: PutObject, CopyObject or CompleteMultipartUpload."""

    bucket: str
    key: str
    reason: str
    request_id: str
    source_ip: str
    time: datetime
    sequencer: str
    size: int | None = None
    etag: str | None = None
    version_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON values (the time in ISO 8601), for the delivery journal."""
        return {**asdict(self), "time": self.time.isoformat()}

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ObjectCreated:
        return cls(**{**body, "time": datetime.fromisoformat(body["time"])})


def object_created_event(
    created: ObjectCreated, *, event_id: str, account: str = ACCOUNT_ID, region: str = REGION
) -> dict:
    """The ``Object Created`` event S3 sends to EventBridge (Amazon S3 User Guide, "EventBridge
    event message structure"). The key is the key, not URL-encoded as in S3's own notifications."""
    obj: dict[str, Any] = {"key": created.key}
    if created.size is not None:
        obj["size"] = created.size
    if created.etag is not None:
        obj["etag"] = created.etag.strip('"')
    if created.version_id is not None:  # a versioned bucket's objects only
        obj["version-id"] = created.version_id
    obj["sequencer"] = created.sequencer
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account,
        "time": created.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:s3:::{created.bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": created.bucket},
            "object": obj,
            "request-id": created.request_id,
            "requester": account,
            "source-ip-address": created.source_ip,
            "reason": created.reason,
        },
    }


def object_created_reason(method: str, query: str, copy_source: str | None) -> str | None:
    """The API an S3 request on an object key is, if it creates an object when accepted:
    PutObject, CopyObject (a PUT with ``x-amz-copy-source``), CompleteMultipartUpload (a POST
    with ``uploadId``); None for every other (UploadPart, ``?tagging``, ``?uploads``, ...).
    (``x-id``, which SDKs add to name the operation, changes nothing.)"""
    parameters = {name for name, _ in parse_qsl(query, keep_blank_values=True)} - {"x-id"}
    if method == "PUT" and not parameters:
        return "CopyObject" if copy_source else "PutObject"
    if method == "POST" and parameters == {"uploadId"}:
        return "CompleteMultipartUpload"
    return None


_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")


def bucket_and_key(host: str, raw_path: str) -> tuple[str, str] | None:
    """``(bucket, key)`` of an S3 request, from its Host header and its path as sent
    (percent-encoded); None when it names no object. Path-style for an IP address, ``localhost``
    or a name without a dot (as moto decides), virtual-hosted (``bucket.host``) otherwise."""
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    path = unquote(raw_path.split("?", 1)[0])
    if not name or name.startswith(("localhost", "[")) or "." not in name or _IPV4.fullmatch(name):
        bucket, _, key = path.lstrip("/").partition("/")
    else:
        bucket, key = name.split(".", 1)[0], path.lstrip("/")
    return (bucket, key) if bucket and key else None


def new_request_id() -> str:
    """An id shaped like S3's ``x-amz-request-id``: 16 upper-case letters and digits."""
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))


def new_sequencer() -> str:
    """Hexadecimal, growing with time, as S3's sequencer for one key (compare equal lengths)."""
    return f"{time.time_ns():018X}"


# ------------------------------------------------------------------ what the S3 process is given


@dataclass(frozen=True)
class ArmedRule:
    """What the S3 process needs to start executions: the rule, and the endpoint of the stack's
    Step Functions (and SQS, for the dead-letter queue)."""

    rule: UploadRule
    endpoint_url: str
    region: str = REGION

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ArmedRule:
        body = json.loads(text)
        return cls(**{**body, "rule": UploadRule(**body["rule"])})


def retry_delays(rule: UploadRule) -> tuple[float, ...]:
    """The waits before each retry: the local delays, no more than the rule's attempts."""
    return LOCAL_RETRY_DELAYS[: max(0, rule.maximum_retry_attempts)]


# ------------------------------------------------------------------ the worker


@dataclass(frozen=True)
class TriggerClients:
    """The boto3 clients the worker calls: S3 (its own process), Step Functions and SQS."""

    s3: Any
    stepfunctions: Any  # as the rule target's role; None when the role could not be assumed
    sqs: Any
    endpoint_url: str
    expires_at: float | None = None  # time.monotonic() past which the role is assumed again
    role_error: str = ""  # why the role could not be assumed

    def stale(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def make_clients(s3_url: str, armed: ArmedRule) -> TriggerClients:
    """S3 (for HeadObject: S3's own part) and SQS (the dead letter, sent as the service) with the
    stack's key; Step Functions with the rule target's role (``rule_target_session``)."""
    session = boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=armed.region,
    )
    # one attempt per call: the retries are ours, with the rule's limits
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30)
    acting, expires_at, role_error = session, None, ""
    if armed.rule.role_arn:
        try:
            acting, expires_at = rule_target_session(session, armed, config)
        except RoleNotAssumable as error:
            acting, expires_at, role_error = None, time.monotonic(), str(error)  # tried again next event
    stepfunctions = acting and acting.client("stepfunctions", endpoint_url=armed.endpoint_url, config=config)
    return TriggerClients(
        s3=session.client("s3", endpoint_url=s3_url, config=config),
        stepfunctions=stepfunctions,
        sqs=session.client("sqs", endpoint_url=armed.endpoint_url, config=config),
        endpoint_url=armed.endpoint_url,
        expires_at=expires_at,
        role_error=role_error,
    )


def rule_target_session(admin: Any, armed: ArmedRule, config: Config) -> tuple[Any, float]:
    """A boto3 session holding the rule target's role credentials, assumed as EventBridge assumes
    it (``events.amazonaws.com``, with the condition keys it sends:
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html), and the
    ``time.monotonic()`` at which to assume it again (5 minutes before they expire)."""
    rule = armed.rule
    account = rule.rule_arn.split(":")[4] if rule.rule_arn.count(":") >= 5 else ACCOUNT_ID
    context = {"aws:SourceAccount": account, **({"aws:SourceArn": rule.rule_arn} if rule.rule_arn else {})}
    environment, expiration = credentials.service_role_session(
        admin.client("iam", endpoint_url=armed.endpoint_url, config=config),
        admin.client("sts", endpoint_url=armed.endpoint_url, config=config),
        rule.role_arn,
        role_sessions.EVENTS,
        uuid.uuid4().hex,
        armed.region,
        context,
    )
    lasts = (expiration - datetime.now(UTC)).total_seconds() - role_sessions.REFRESH_BEFORE.total_seconds()
    acting = boto3.session.Session(
        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=environment["AWS_SESSION_TOKEN"],
        region_name=armed.region,
    )
    return acting, time.monotonic() + max(0.0, lasts)


def report_to_stderr(line: str) -> None:
    print(f"local_stack: {line}", file=sys.stderr, flush=True)


@dataclass
class UploadTrigger:
    """The local S3's link to EventBridge: ``intend`` (before S3 writes an object) journals the
    upload's event, ``confirm`` (once stored, before S3 answers) queues it; a worker (one of ``workers``
    threads, taking the queue in order and delivering side by side, as EventBridge delivers
    without an order) reads the object's size and ETag (HeadObject), builds the event and, when
    ``armed()`` gives a rule that matches it, starts the execution, then marks the event done.
    ``armed`` answers None until the stack is deployed: uploads before that start nothing, as in
    an account without the rule. With a ``journal``, call ``resume`` once before the first
    ``intend``: it delivers what an earlier process stored and did not deliver."""

    s3_url: str
    armed: Callable[[], ArmedRule | None]
    report: Callable[[str], None] = report_to_stderr
    sleep: Callable[[float], None] = time.sleep
    make_clients: Callable[[str, ArmedRule], TriggerClients] = make_clients
    journal: DeliveryJournal | None = None
    workers: int = 1
    _queue: queue.SimpleQueue = field(default_factory=queue.SimpleQueue, repr=False)
    _clients: TriggerClients | None = field(default=None, repr=False)
    _threads: list[threading.Thread] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _clients_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def resume(self, stored: Callable[[str], bool] = lambda _: True) -> int:
        """Open the journal and reconcile what an earlier process journaled and did not mark
        delivered: an event whose write ``stored`` (by its id) is queued, in order; one whose
        write never completed is dropped, marked done. How many were queued."""
        if self.journal is None:
            return 0
        queued = 0
        for event_id, body in self.journal.open():
            created = ObjectCreated.from_json(body)
            if stored(event_id):
                self._put(event_id, created)
                queued += 1
            else:
                self.journal.done(event_id)
                self.report(f"the upload s3://{created.bucket}/{created.key} was never stored: no event")
        return queued

    def intend(self, created: ObjectCreated) -> str:
        """Journal the event of an upload about to be written (on file when this returns: call it
        before the write); its id, for ``confirm`` or ``cancel`` once the write is answered."""
        event_id = str(uuid.uuid4())
        if self.journal is not None:
            self.journal.record(event_id, created.to_json())
        return event_id

    def confirm(self, event_id: str, created: ObjectCreated) -> None:
        """The upload ``intend`` journaled is stored: queue its event (returns without waiting
        for the delivery)."""
        self._put(event_id, created)

    def cancel(self, event_id: str) -> None:
        """The upload ``intend`` journaled was refused: it owes no event."""
        self._mark_done(event_id)

    def notice(self, created: ObjectCreated) -> None:
        """An upload stored already: ``intend`` and ``confirm`` at once."""
        self.confirm(self.intend(created), created)

    def _put(self, event_id: str, created: ObjectCreated) -> None:
        with self._lock:
            while len(self._threads) < self.workers:
                thread = threading.Thread(target=self._run, name="upload-trigger", daemon=True)
                thread.start()
                self._threads.append(thread)
        self._queue.put((event_id, created))

    def close(self, timeout: float = 5.0) -> None:
        """Let the workers finish what is queued (up to ``timeout`` seconds), then stop them and
        close the journal: what was not delivered by then stays owed there."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self.journal is not None:
            self.journal.close()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            event_id, created = item
            try:
                self.deliver(created, event_id)
            except Exception as error:  # the worker outlives any one upload
                self.report(f"upload s3://{created.bucket}/{created.key} started nothing: {error!r}")
            self._mark_done(event_id)

    def _mark_done(self, event_id: str) -> None:
        if self.journal is None:
            return
        try:
            self.journal.done(event_id)
        except (OSError, ValueError) as error:  # closed under a worker still draining: owed again
            self.report(f"the upload event {event_id} was delivered but not marked done: {error}")

    def deliver(self, created: ObjectCreated, event_id: str | None = None) -> str | None:
        """Do EventBridge's part for one upload (its event's id: ``event_id``, else a new one);
        the execution's ARN, or None."""
        armed = self.armed()
        if armed is None:
            return None
        event_id = event_id or str(uuid.uuid4())
        pattern = armed.rule.event_pattern
        # most writes (the data capture, training data) match nothing: spare them the HeadObject
        if not _reads_head_fields(pattern) and not matches(
            pattern, object_created_event(created, event_id=event_id)
        ):
            return None
        clients = self._clients_for(armed)
        event = object_created_event(_with_head(clients.s3, created), event_id=event_id)
        if not matches(pattern, event):
            return None
        try:
            execution_input = transformed_input(armed.rule, event)
        except InvalidTransformedInput as error:
            self._dead_letter(clients, armed.rule, event, "INVALID_TRANSFORMED_INPUT", str(error), 0)
            return None
        return self._start(clients, armed.rule, event, execution_input)

    def _start(
        self, clients: TriggerClients, rule: UploadRule, event: dict, execution_input: str
    ) -> str | None:
        if clients.stepfunctions is None:  # not retried: "FAILED_TO_ASSUME_ROLE" (rule-dlq page)
            self._dead_letter(clients, rule, event, "FAILED_TO_ASSUME_ROLE", clients.role_error, 0)
            return None
        delays = retry_delays(rule)
        for attempt in range(len(delays) + 1):
            try:
                return clients.stepfunctions.start_execution(
                    stateMachineArn=rule.state_machine_arn, input=execution_input
                )["executionArn"]
            except Exception as error:
                code, retryable = _failure(error)
                if not retryable or attempt == len(delays):
                    self._dead_letter(clients, rule, event, code, _message(error), attempt)
                    return None
                self.sleep(delays[attempt])
        return None

    def _dead_letter(
        self, clients: TriggerClients, rule: UploadRule, event: dict, code: str, message: str, retries: int
    ) -> None:
        """As EventBridge does with an event it could not deliver: to the rule's dead-letter
        queue (the event, its error in message attributes), else one line on stderr."""
        detail = event["detail"]
        where = f"s3://{detail['bucket']['name']}/{detail['object']['key']}"
        if rule.dead_letter_queue_arn:
            try:
                queue_url = _queue_url(clients.sqs, rule.dead_letter_queue_arn)
                if not _queue_allows_the_rule(clients.sqs, queue_url, rule):
                    raise PermissionError(
                        f"its policy does not allow {role_sessions.EVENTS} sqs:SendMessage "
                        f"from {rule.rule_arn or 'the rule'}"
                    )
                clients.sqs.send_message(
                    QueueUrl=queue_url,
                    MessageBody=json.dumps(event),
                    MessageAttributes=_dead_letter_attributes(rule, code, message, retries),
                )
                return
            except Exception as error:
                message = f"{message}; and the dead-letter queue refused it: {error}"
        self.report(
            f"the upload {where} started no execution of {rule.state_machine_arn} "
            f"after {retries + 1} attempt(s): {code}: {message}"
        )

    def _clients_for(self, armed: ArmedRule) -> TriggerClients:
        with self._clients_lock:  # one set for every worker (boto3's clients are thread-safe)
            if (
                self._clients is None
                or self._clients.endpoint_url != armed.endpoint_url
                or self._clients.stale(time.monotonic())  # the role's credentials near their end
            ):
                self._clients = self.make_clients(self.s3_url, armed)
            return self._clients


_HEAD_FIELDS = ("size", "etag", "version-id")


def _reads_head_fields(pattern: Mapping[str, Any]) -> bool:
    """Whether the pattern looks at what only HeadObject tells (the object's size, ETag, version)."""
    detail = pattern.get("detail")
    fields = detail.get("object") if isinstance(detail, Mapping) else None
    return isinstance(fields, Mapping) and any(name in fields for name in _HEAD_FIELDS)


def _with_head(s3: Any, created: ObjectCreated) -> ObjectCreated:
    """``created`` with the object's size and ETag (and version) from HeadObject; as it was if
    the object is gone already (S3 still sends the event)."""
    arguments = {"Bucket": created.bucket, "Key": created.key}
    if created.version_id:
        arguments["VersionId"] = created.version_id
    try:
        head = s3.head_object(**arguments)
    except Exception:
        return created
    version = head.get("VersionId")
    return ObjectCreated(
        **{
            **asdict(created),
            "size": head["ContentLength"],
            "etag": head.get("ETag"),
            "version_id": version if version and version != "null" else created.version_id,
        }
    )


# EventBridge retries throttling, server errors and lost connections; a 4xx is final
_RETRYABLE_CODES = frozenset({"ThrottlingException", "Throttling", "ServiceUnavailable", "InternalFailure"})


def _failure(error: Exception) -> tuple[str, bool]:
    """``(error code, whether to try again)`` of a failed StartExecution."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):  # no answer at all: the connection failed
        return type(error).__name__, True
    code = response.get("Error", {}).get("Code", "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code or str(status), code in _RETRYABLE_CODES or status >= 500


def _message(error: Exception) -> str:
    """The service's own message of a refusal (what EventBridge puts in ERROR_MESSAGE), else the
    exception's text."""
    response = getattr(error, "response", None)
    said = response.get("Error", {}).get("Message") if isinstance(response, dict) else None
    return said or str(error)


def _queue_url(sqs: Any, queue_arn: str) -> str:
    *_, account, name = queue_arn.split(":")
    return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def _queue_allows_the_rule(sqs: Any, queue_url: str, rule: UploadRule) -> bool:
    """Whether the queue's resource policy lets EventBridge send this rule's dead letters: a
    statement allowing ``events.amazonaws.com`` ``sqs:SendMessage``, its conditions decided on
    the keys EventBridge sends (``aws:SourceArn`` the rule, ``aws:SourceAccount``). No policy:
    no (a queue allows no service by default)."""
    policy = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])
    document = policy.get("Attributes", {}).get("Policy")
    context = {"aws:SourceArn": rule.rule_arn, "aws:SourceAccount": ACCOUNT_ID}
    caller = Caller.for_service(role_sessions.EVENTS)
    return trust(document, caller, "sqs:SendMessage", context) is Trust.NAMED


def _dead_letter_attributes(rule: UploadRule, code: str, message: str, retries: int) -> dict:
    """The message attributes EventBridge gives a dead letter (EventBridge User Guide, "Using
    dead-letter queues to process undelivered events")."""
    values = {
        "ERROR_CODE": code,
        "ERROR_MESSAGE": message[:256],
        "RULE_ARN": rule.rule_arn or f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{RULE_ID}",
        "TARGET_ARN": rule.state_machine_arn,
        "RETRY_ATTEMPTS": str(retries),
    }
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}
