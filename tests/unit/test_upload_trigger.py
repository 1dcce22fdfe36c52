"""An upload starts an execution, as the template's UploadRule does in AWS: the rule read from
template.yaml, what its pattern matches and what its InputTransformer makes (EventBridge's part
on its own is in test_eventbridge.py), the event S3 sends to EventBridge, the worker's retries
and dead letters (with stand-in clients), and the local S3's hook (moto in-process, through
WSGI: no socket)."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime

import pytest
from werkzeug.test import Client

from local_stack.aws import upload_trigger
from local_stack.aws.delivery_journal import DeliveryJournal
from local_stack.aws.eventbridge import UnsupportedEventPattern, matches, transformed_input
from local_stack.aws.moto_patches import moto_app
from local_stack.aws.template import Template
from local_stack.aws.upload_trigger import (
    ArmedRule,
    ObjectCreated,
    TriggerClients,
    UploadRule,
    UploadTrigger,
    bucket_and_key,
    object_created_event,
    object_created_reason,
    upload_location,
    upload_rule,
)
from local_stack.commands.stack_options import _template_parameters, default_stack_options
from local_stack.processes.s3_server import UploadNoticingApp

BUCKET = "scones-images"
STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:scones-local-ClassifyImage"
TEMPLATE = Template.load()
DEFAULTS = TEMPLATE.parameter_defaults()
# the suffixes the template's wildcards end in (14: seven formats, either case)
SUFFIXES = [".jpg", ".JPG", ".jpeg", ".JPEG", ".png", ".PNG", ".webp", ".WEBP"]
SUFFIXES += [".gif", ".GIF", ".heic", ".HEIC", ".heif", ".HEIF"]
# the worker drains three stand-in uploads in under 10 ms (measured); this is far above it
DRAINED_WITHIN = 60.0


def rule(prefix: str | None = None, **changes) -> UploadRule:
    parameters = {**DEFAULTS, **({"UploadPrefix": prefix} if prefix else {})}
    return upload_rule(
        TEMPLATE, bucket=BUCKET, state_machine_arn=STATE_MACHINE, parameters=parameters, **changes
    )


def created(key: str, bucket: str = BUCKET, **fields) -> ObjectCreated:
    values = {
        "reason": "PutObject",
        "request_id": "N4N7GDK58NMKJ12R",
        "source_ip": "127.0.0.1",
        "time": datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC),
        "sequencer": "00617F08299329D189",
        **fields,
    }
    return ObjectCreated(bucket=bucket, key=key, **values)


def event(key: str, bucket: str = BUCKET, **fields) -> dict:
    return object_created_event(
        created(key, bucket, **fields), event_id="17793124-05d4-b198-2fde-7ededc63b103"
    )


# ------------------------------------------------------------------ the rule


def test_the_rule_is_the_templates_own_resolved_for_the_stack():
    resolved = rule()
    properties = TEMPLATE.body["Resources"]["UploadRule"]["Properties"]
    (target,) = properties["Targets"]
    assert resolved.event_pattern["source"] == ["aws.s3"]
    assert resolved.event_pattern["detail-type"] == ["Object Created"]
    assert resolved.event_pattern["detail"]["bucket"]["name"] == [BUCKET]
    keys = resolved.event_pattern["detail"]["object"]["key"]
    assert keys == [{"wildcard": f"{DEFAULTS['UploadPrefix']}*{suffix}"} for suffix in SUFFIXES]
    assert resolved.state_machine_arn == STATE_MACHINE
    assert resolved.input_paths == target["InputTransformer"]["InputPathsMap"]
    assert resolved.input_template == target["InputTransformer"]["InputTemplate"]
    assert resolved.maximum_retry_attempts == target["RetryPolicy"]["MaximumRetryAttempts"]
    assert resolved.dead_letter_queue_arn is None  # the local stack has no such queue unless given
    queue = "arn:aws:sqs:us-east-1:123456789012:UploadDeadLetterQueue"
    assert rule(dead_letter_queue_arn=queue).dead_letter_queue_arn == queue


def test_the_upload_location_is_the_templates_output():
    assert upload_location(TEMPLATE, bucket=BUCKET, parameters=DEFAULTS) == f"s3://{BUCKET}/incoming/"
    parameters = {**DEFAULTS, "UploadPrefix": "phones/in/"}
    assert upload_location(TEMPLATE, bucket=BUCKET, parameters=parameters) == f"s3://{BUCKET}/phones/in/"


def test_the_stacks_log_level_defaults_to_the_templates():
    assert default_stack_options().log_level is None
    assert _template_parameters(default_stack_options(), TEMPLATE)["LogLevel"] == DEFAULTS["LogLevel"]
    assert _template_parameters(default_stack_options(log_level="ERROR"), TEMPLATE)["LogLevel"] == "ERROR"


def test_the_armed_rule_survives_its_trip_through_a_file():
    armed = ArmedRule(rule(), endpoint_url="http://127.0.0.1:5000")
    assert ArmedRule.from_json(armed.to_json()) == armed


# ------------------------------------------------------------------ what the rule matches


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_each_of_the_templates_suffixes_starts_an_execution(suffix):
    assert matches(rule().event_pattern, event(f"incoming/photo{suffix}"))


@pytest.mark.parametrize(
    "key",
    [
        "incoming/2026/05/01/driver 7/photo.jpg",  # * crosses slashes, unlike a shell's glob
        "incoming/.jpg",  # * stands for nothing too
        "incoming/a.txt.jpg",
        "incoming/é 'quoted\" + photo.png",
    ],
)
def test_the_star_stands_for_any_run_of_characters(key):
    assert matches(rule().event_pattern, event(key))


@pytest.mark.parametrize(
    ("key", "bucket"),
    [
        ("incoming/a.txt", BUCKET),
        ("incoming/a.jpg.txt", BUCKET),
        ("incoming/a.Jpg", BUCKET),  # either case, not mixed
        ("other/a.jpg", BUCKET),
        ("Incoming/a.jpg", BUCKET),
        ("a/incoming/a.jpg", BUCKET),
        ("incoming/a.jpg", "another-bucket"),
        ("data-capture/vehicle-classifier-local/2026/05/01/12/capture.jsonl", BUCKET),
    ],
)
def test_what_the_rule_does_not_match_starts_nothing(key, bucket):
    assert not matches(rule().event_pattern, event(key, bucket))


def test_another_upload_prefix_moves_the_trigger():
    pattern = rule("phones/in/").event_pattern
    assert matches(pattern, event("phones/in/a.jpg"))
    assert not matches(pattern, event("incoming/a.jpg"))


def test_only_object_created_events_from_s3_match():
    pattern = rule().event_pattern
    assert not matches(pattern, {**event("incoming/a.jpg"), "detail-type": "Object Deleted"})
    assert not matches(pattern, {**event("incoming/a.jpg"), "source": "my.app"})
    without_detail = {k: v for k, v in event("incoming/a.jpg").items() if k != "detail"}
    assert not matches(pattern, without_detail)


def test_a_template_rule_with_an_unknown_operator_is_refused_when_read():
    body = json.loads(json.dumps(TEMPLATE.body, default=str))
    body["Resources"]["UploadRule"]["Properties"]["EventPattern"]["detail"]["object"]["size"] = [
        {"numeric": [">", 0]}
    ]
    with pytest.raises(UnsupportedEventPattern, match="numeric"):
        upload_template_rule(Template(body))


def upload_template_rule(template: Template) -> UploadRule:
    return upload_rule(template, bucket=BUCKET, state_machine_arn=STATE_MACHINE, parameters=DEFAULTS)


# ------------------------------------------------------------------ what its InputTransformer makes


@pytest.mark.parametrize(
    "key",
    ["incoming/x.png", 'incoming/say "cheese".jpg', "incoming/moto\\bike\n.jpg", "incoming/Fahrrad ☃ é.png"],
)
def test_the_input_is_the_seeds_event_and_stays_json_whatever_the_key(key):
    execution_input = transformed_input(rule(), event(key))
    assert json.loads(execution_input) == {"s3_bucket": BUCKET, "s3_key": key}


# ------------------------------------------------------------------ the event S3 sends


def test_the_event_has_the_shape_s3_gives_eventbridge():
    sample = event(
        "incoming/red flower+1.jpg", size=5, etag='"b1946ac92492d2347c6235b4d2611184"', version_id="IYV3p45"
    )
    assert sample == {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-05-01T12:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{BUCKET}"],
        "detail": {
            "version": "0",
            "bucket": {"name": BUCKET},
            "object": {
                "key": "incoming/red flower+1.jpg",  # as written: EventBridge does not URL-encode it
                "size": 5,
                "etag": "b1946ac92492d2347c6235b4d2611184",
                "version-id": "IYV3p45",
                "sequencer": "00617F08299329D189",
            },
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject",
        },
    }
    assert "version-id" not in event("incoming/a.jpg")["detail"]["object"]  # an unversioned bucket's


def test_new_ids_look_like_s3s():
    assert re.fullmatch(r"[A-Z0-9]{16}", upload_trigger.new_request_id())
    first, second = upload_trigger.new_sequencer(), upload_trigger.new_sequencer()
    assert re.fullmatch(r"[0-9A-F]{18}", first) and second >= first


@pytest.mark.parametrize(
    ("method", "query", "copy_source", "reason"),
    [
        ("PUT", "", None, "PutObject"),
        ("PUT", "x-id=PutObject", None, "PutObject"),
        ("PUT", "", "bucket/other.jpg", "CopyObject"),
        ("POST", "uploadId=abc", None, "CompleteMultipartUpload"),
        ("POST", "uploads", None, None),  # CreateMultipartUpload
        ("PUT", "partNumber=1&uploadId=abc", None, None),  # UploadPart
        ("PUT", "partNumber=1&uploadId=abc", "bucket/other.jpg", None),  # UploadPartCopy
        ("PUT", "tagging", None, None),
        ("PUT", "acl", None, None),
        ("DELETE", "", None, None),
        ("POST", "delete", None, None),
    ],
)
def test_which_requests_create_an_object(method, query, copy_source, reason):
    assert object_created_reason(method, query, copy_source) == reason


def test_bucket_and_key_from_the_request():
    assert bucket_and_key("127.0.0.1:4566", "/b/incoming/%C3%A9%20q%22u%2Bo%25te.png?x-id=PutObject") == (
        "b",
        'incoming/é q"u+o%te.png',
    )
    assert bucket_and_key("localhost:4566", "/b/k.jpg") == ("b", "k.jpg")
    assert bucket_and_key("b.s3.localhost.localstack.cloud:4566", "/k.jpg") == ("b", "k.jpg")
    assert bucket_and_key("127.0.0.1:4566", "/b") is None
    assert bucket_and_key("127.0.0.1:4566", "/b/") is None


# ------------------------------------------------------------------ the worker


class Refused(Exception):
    def __init__(self, code: str, status: int) -> None:
        super().__init__(f"{code} ({status})")
        self.response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}


class StandIns:
    """Stand-ins for the worker's boto3 clients: what they were asked, what they answer."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.failures = list(failures or [])
        self.started: list[dict] = []
        self.heads: list[dict] = []
        self.dead_letters: list[dict] = []

    def head_object(self, **arguments):
        self.heads.append(arguments)
        return {"ContentLength": 3, "ETag": '"abc"'}

    def start_execution(self, **arguments):
        if self.failures:
            raise self.failures.pop(0)
        self.started.append(arguments)
        return {"executionArn": f"{STATE_MACHINE}:{len(self.started)}"}

    def get_queue_url(self, QueueName, QueueOwnerAWSAccountId):
        return {"QueueUrl": f"http://sqs/{QueueOwnerAWSAccountId}/{QueueName}"}

    def get_queue_attributes(self, QueueUrl, AttributeNames):
        # the template's UploadDeadLetterQueuePolicy, less its aws:SourceArn condition
        statement = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}}
        statement |= {"Action": "sqs:SendMessage", "Resource": "*"}
        return {"Attributes": {"Policy": json.dumps({"Statement": [statement]})}}

    def send_message(self, **arguments):
        self.dead_letters.append(arguments)


def trigger(stand_ins: StandIns, armed_rule: UploadRule | None = None) -> tuple[UploadTrigger, list, list]:
    armed = ArmedRule(armed_rule or rule(), endpoint_url="http://sfn")
    clients = TriggerClients(stand_ins, stand_ins, stand_ins, "http://sfn")
    lines: list[str] = []
    waits: list[float] = []
    worker = UploadTrigger(
        "http://s3", lambda: armed, report=lines.append, sleep=waits.append, make_clients=lambda *_: clients
    )
    return worker, lines, waits


def test_a_matching_upload_starts_one_execution_with_the_seeds_input():
    stand_ins = StandIns()
    worker, lines, _ = trigger(stand_ins)
    assert worker.deliver(created("incoming/x.png")) == f"{STATE_MACHINE}:1"
    assert stand_ins.started == [
        {
            "stateMachineArn": STATE_MACHINE,
            "input": json.dumps({"s3_bucket": BUCKET, "s3_key": "incoming/x.png"}),
        }
    ]
    assert stand_ins.heads == [{"Bucket": BUCKET, "Key": "incoming/x.png"}]
    assert lines == []


def test_an_upload_the_rule_does_not_match_costs_no_call():
    stand_ins = StandIns()
    worker, _, _ = trigger(stand_ins)
    assert worker.deliver(created("data-capture/x.jsonl")) is None
    assert stand_ins.started == [] and stand_ins.heads == []


def test_before_the_stack_is_deployed_an_upload_starts_nothing():
    worker = UploadTrigger(
        "http://s3", lambda: None, make_clients=lambda *_: pytest.fail("no clients needed")
    )
    assert worker.deliver(created("incoming/x.png")) is None


def test_a_failed_start_is_tried_again_with_backoff():
    stand_ins = StandIns([Refused("ThrottlingException", 400), ConnectionError("refused")])
    worker, lines, waits = trigger(stand_ins)
    assert worker.deliver(created("incoming/x.png")) == f"{STATE_MACHINE}:1"
    assert waits == list(upload_trigger.LOCAL_RETRY_DELAYS[:2]) and lines == []


def test_a_start_that_keeps_failing_is_one_line_on_stderr_naming_the_object():
    stand_ins = StandIns([ConnectionError("refused")] * 10)
    worker, lines, waits = trigger(stand_ins)
    assert worker.deliver(created("incoming/x.png")) is None
    assert waits == list(upload_trigger.LOCAL_RETRY_DELAYS)
    (line,) = lines
    assert f"s3://{BUCKET}/incoming/x.png" in line and "ConnectionError" in line and "refused" in line


def test_a_refused_start_is_not_tried_again_and_goes_to_the_dead_letter_queue():
    stand_ins = StandIns([Refused("StateMachineDoesNotExist", 400)])
    queue = "arn:aws:sqs:us-east-1:123456789012:scones-local-UploadDeadLetterQueue"
    worker, lines, waits = trigger(stand_ins, rule(dead_letter_queue_arn=queue))
    assert worker.deliver(created("incoming/x.png")) is None
    assert waits == [] and lines == []
    (letter,) = stand_ins.dead_letters
    assert letter["QueueUrl"] == "http://sqs/123456789012/scones-local-UploadDeadLetterQueue"
    assert json.loads(letter["MessageBody"])["detail"]["object"] == {
        "key": "incoming/x.png",
        "size": 3,
        "etag": "abc",
        "sequencer": "00617F08299329D189",
    }
    assert letter["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "StateMachineDoesNotExist"


def test_the_worker_runs_off_the_callers_thread_and_drains_on_close():
    stand_ins = StandIns()
    worker, _, _ = trigger(stand_ins)
    for number in range(3):
        worker.notice(created(f"incoming/{number}.jpg"))
    worker.close(timeout=DRAINED_WITHIN)  # returns once drained; the deadline only bounds a hang
    assert [json.loads(call["input"])["s3_key"] for call in stand_ins.started] == [
        "incoming/0.jpg",
        "incoming/1.jpg",
        "incoming/2.jpg",
    ]


class Gated(StandIns):
    """Stand-ins whose StartExecution waits for ``gate``: a delivery caught in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.waiting = threading.Event()

    def start_execution(self, **arguments):
        self.waiting.set()
        assert self.gate.wait(DRAINED_WITHIN)
        return super().start_execution(**arguments)


def journaled_trigger(stand_ins: StandIns, path) -> UploadTrigger:
    armed = ArmedRule(rule(), endpoint_url="http://sfn")
    clients = TriggerClients(stand_ins, stand_ins, stand_ins, "http://sfn")
    return UploadTrigger(
        "http://s3", lambda: armed, make_clients=lambda *_: clients, journal=DeliveryJournal(path)
    )


def test_what_a_killed_process_acknowledged_the_next_one_delivers(tmp_path):
    journal = tmp_path / "upload-events.jsonl"
    gated = Gated()
    first = journaled_trigger(gated, journal)
    assert first.resume() == 0
    for number in range(3):
        first.notice(created(f"incoming/{number}.jpg", size=3, etag='"abc"'))
    assert gated.waiting.wait(DRAINED_WITHIN)  # the first upload's StartExecution is in flight
    left_on_disk = journal.read_bytes()  # what SIGKILL leaves now: the file, no thread
    gated.gate.set()
    first.close(timeout=DRAINED_WITHIN)
    journal.write_bytes(left_on_disk)

    stand_ins = StandIns()
    second = journaled_trigger(stand_ins, journal)
    assert second.resume() == 3
    second.close(timeout=DRAINED_WITHIN)
    assert [json.loads(call["input"])["s3_key"] for call in stand_ins.started] == [
        "incoming/0.jpg",
        "incoming/1.jpg",
        "incoming/2.jpg",
    ]
    assert journaled_trigger(StandIns(), journal).resume() == 0  # delivered: owed no more


def test_a_journaled_event_comes_back_as_it_was_noticed(tmp_path):
    journal = tmp_path / "upload-events.jsonl"
    upload = created("incoming/é x.png", version_id="v1", size=3, etag='"abc"')
    gated = Gated()
    first = journaled_trigger(gated, journal)
    first.resume()
    first.notice(upload)
    assert gated.waiting.wait(DRAINED_WITHIN)
    (line,) = journal.read_text().splitlines()
    assert ObjectCreated.from_json(json.loads(line)["body"]) == upload
    gated.gate.set()
    first.close(timeout=DRAINED_WITHIN)


class SideBySide(StandIns):
    """Stand-ins whose StartExecution returns only once ``count`` of them are in flight at once."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.barrier = threading.Barrier(count, timeout=DRAINED_WITHIN)
        self._lock = threading.Lock()

    def start_execution(self, **arguments):
        self.barrier.wait()  # broken (an error) unless `count` workers call at once
        with self._lock:
            return super().start_execution(**arguments)


def test_the_workers_deliver_side_by_side_as_eventbridge_does():
    stand_ins = SideBySide(3)
    armed = ArmedRule(rule(), endpoint_url="http://sfn")
    clients = TriggerClients(stand_ins, stand_ins, stand_ins, "http://sfn")
    lines: list[str] = []
    worker = UploadTrigger(
        "http://s3", lambda: armed, report=lines.append, make_clients=lambda *_: clients, workers=3
    )
    for number in range(3):
        worker.notice(created(f"incoming/{number}.jpg"))
    worker.close(timeout=DRAINED_WITHIN)
    assert sorted(json.loads(call["input"])["s3_key"] for call in stand_ins.started) == [
        "incoming/0.jpg",
        "incoming/1.jpg",
        "incoming/2.jpg",
    ]
    assert lines == []


# ------------------------------------------------------------------ the local S3's hook

SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host, Signature=0"
}


class Answered(Client):
    """Reads each answer whole and closes it, as a server does (the hook notices on close)."""

    def open(self, *args, **kwargs):
        return super().open(*args, buffered=True, **kwargs)


class Noticed(list):
    """Stands in for the trigger behind the hook: each upload confirmed (stored), in order; each
    intent as the hook gave it, with what the journal held at that instant."""

    def __init__(self) -> None:
        super().__init__()
        self.intended: dict[str, ObjectCreated] = {}
        self.cancelled: list[str] = []

    def intend(self, created: ObjectCreated) -> str:
        event_id = f"event-{len(self.intended)}"
        self.intended[event_id] = created
        return event_id

    def confirm(self, event_id: str, created: ObjectCreated) -> None:
        assert event_id in self.intended
        self.append(created)

    def cancel(self, event_id: str) -> None:
        self.cancelled.append(event_id)


@pytest.fixture
def s3():
    """moto's S3 in-process behind the hook, with what the hook noticed (reset before and after)."""
    app = moto_app()
    Client(app).post("/moto-api/reset")
    noticed = Noticed()
    client = Answered(UploadNoticingApp(app, noticed, lambda: None))
    assert client.put("/bucket", headers=SIGNED).status_code == 200
    yield client, noticed
    Client(app).post("/moto-api/reset")


def test_the_s3_hook_notices_an_upload_before_its_answer_is_sent(s3):
    client, noticed = s3
    streamed = Client(client.application)  # the answer not read yet, as a server about to send it
    response = streamed.put("/bucket/incoming/x.png", data=b"png", headers=SIGNED)
    assert [n.key for n in noticed] == ["incoming/x.png"]
    response.close()


def test_the_s3_hook_notices_what_creates_an_object_once_answered(s3):
    client, noticed = s3
    assert client.put("/bucket/incoming/%C3%A9%20x.png", data=b"png", headers=SIGNED).status_code == 200
    copied = client.put(
        "/bucket/incoming/copy.png", headers={**SIGNED, "x-amz-copy-source": "bucket/incoming/%C3%A9%20x.png"}
    )
    assert copied.status_code == 200
    started = client.post("/bucket/incoming/big.jpg?uploads", headers=SIGNED)
    upload_id = re.search(r"<UploadId>([^<]+)</UploadId>", started.get_data(as_text=True)).group(1)
    part = client.put(
        f"/bucket/incoming/big.jpg?partNumber=1&uploadId={upload_id}", data=b"j", headers=SIGNED
    )
    etag = part.headers["ETag"]
    completion = (
        f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part>"
        "</CompleteMultipartUpload>"
    )
    done = client.post(f"/bucket/incoming/big.jpg?uploadId={upload_id}", data=completion, headers=SIGNED)
    assert done.status_code == 200
    assert client.put(
        "/bucket/incoming/copy.png?tagging",
        data=b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>",
        headers=SIGNED,
    )
    assert client.put("/no-such-bucket/incoming/x.png", data=b"png", headers=SIGNED).status_code == 404

    assert [(n.bucket, n.key, n.reason) for n in noticed] == [
        ("bucket", "incoming/é x.png", "PutObject"),
        ("bucket", "incoming/copy.png", "CopyObject"),
        ("bucket", "incoming/big.jpg", "CompleteMultipartUpload"),
    ]
    assert all(n.request_id and n.sequencer for n in noticed)


def test_the_s3_hook_records_the_intent_before_the_write_and_cancels_a_refused_one():
    """The gap of issue 23 item 5: the event was journaled after the object was stored, so a
    kill in between left an object that no event followed. The intent now comes first, and the
    write carries its id (``UPLOAD_EVENT``, which the S3 journal keeps)."""
    from local_stack.processes.s3_journal import UPLOAD_EVENT

    noticed = Noticed()
    seen_by_the_write: list[tuple[str | None, int]] = []

    def store(environ, start_response):
        seen_by_the_write.append((environ.get(UPLOAD_EVENT), len(noticed.intended)))
        status = "200 OK" if "/bucket/" in environ["PATH_INFO"] else "404 Not Found"
        start_response(status, [("x-amz-request-id", "MOTOSREQUESTID01")])
        return [b""]

    client = Answered(UploadNoticingApp(store, noticed, lambda: None))
    assert client.put("/bucket/incoming/x.png", data=b"png", headers=SIGNED).status_code == 200
    assert client.put("/missing/incoming/x.png", data=b"png", headers=SIGNED).status_code == 404
    assert seen_by_the_write == [("event-0", 1), ("event-1", 2)]  # journaled before the write
    assert [n.request_id for n in noticed] == ["MOTOSREQUESTID01"]  # the answer's own, when stored
    assert noticed.cancelled == ["event-1"]  # refused: owes no event


def test_a_restart_delivers_the_intents_whose_writes_were_stored_and_drops_the_rest(tmp_path):
    journal = tmp_path / "upload-events.jsonl"
    lines: list[str] = []
    first = journaled_trigger(StandIns(), journal)
    first.resume()
    stored = first.intend(created("incoming/stored-not-confirmed.jpg"))  # killed after the write
    never = first.intend(created("incoming/never-stored.jpg"))  # killed before it
    left_on_disk = journal.read_bytes()
    first.close(timeout=DRAINED_WITHIN)
    journal.write_bytes(left_on_disk)

    stand_ins = StandIns()
    second = journaled_trigger(stand_ins, journal)
    second.report = lines.append
    assert second.resume({stored}.__contains__) == 1
    second.close(timeout=DRAINED_WITHIN)
    assert [json.loads(call["input"])["s3_key"] for call in stand_ins.started] == [
        "incoming/stored-not-confirmed.jpg"
    ]
    assert lines == [f"the upload s3://{BUCKET}/incoming/never-stored.jpg was never stored: no event"]
    assert never != stored
    assert journaled_trigger(StandIns(), journal).resume() == 0  # both settled: owed no more
