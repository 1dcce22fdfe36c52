"""Function logs where AWS keeps them, the parts that need no server: Lambda's own lines, its
stream names, PutLogEvents' limits, and the sender (moto in-process)."""

from __future__ import annotations

import datetime
import threading

import boto3
from moto import mock_aws

from local_stack.aws.cloudwatch_logs import (
    MAX_BYTES_PER_CALL,
    MAX_EVENT_BYTES,
    MAX_EVENTS_PER_CALL,
    LogSender,
    event_size,
    now_ms,
    put_log_events_batches,
)
from local_stack.aws.function_logs import Report, end_line, log_stream_name, report_line, start_line


def test_lambdas_own_lines_as_local_stack_invoke_prints_them_and_as_cloudwatch_shows_them():
    cold = Report(duration_ms=12.3456, memory_size_mb=256, max_memory_used_mb=80, init_ms=450.5)
    assert start_line(None) == "START Version: $LATEST"
    assert start_line("r-1") == "START RequestId: r-1 Version: $LATEST"
    assert (end_line(None), end_line("r-1")) == ("END", "END RequestId: r-1")
    assert report_line("r-1", cold) == (
        "REPORT RequestId: r-1\tDuration: 12.35 ms\tBilled Duration: 13 ms\t"
        "Memory Size: 256 MB\tMax Memory Used: 80 MB\tInit Duration: 450.50 ms"
    )  # as Lambda writes it; sam local invoke's emulator prints Init Duration first
    assert report_line(None, cold).split("\t")[1] == "Init Duration: 450.50 ms"
    assert report_line(None, Report(0.2, 128, 1)).split("\t")[:3] == [
        "REPORT",
        "Duration: 0.20 ms",
        "Billed Duration: 1 ms",
    ]


def test_the_stream_is_named_as_lambda_names_an_environments_stream():
    name = log_stream_name(datetime.date(2026, 3, 7), "0123456789abcdef0123456789abcdef")
    assert name == "2026/03/07/[$LATEST]0123456789abcdef0123456789abcdef"


def test_batches_keep_put_log_events_limits_in_time_order():
    many = [(1000 + n % 7, f"line {n}") for n in range(MAX_EVENTS_PER_CALL + 5)]
    batches = list(put_log_events_batches(many))
    assert [len(b) for b in batches] == [MAX_EVENTS_PER_CALL, 5]
    flat = [event for batch in batches for event in batch]
    assert [t for t, _ in flat] == sorted(t for t, _ in many)
    same_millisecond = [message for t, message in flat if t == 1000]
    assert same_millisecond[:2] == ["line 0", "line 7"]  # printed in that order, kept so

    big = [(n, "x" * 200_000) for n in range(12)]
    by_size = list(put_log_events_batches(big))
    assert all(sum(event_size(m) for _, m in batch) <= MAX_BYTES_PER_CALL for batch in by_size)
    assert sum(len(batch) for batch in by_size) == 12 and len(by_size) == 3

    (only,) = put_log_events_batches([(1, ""), (2, "é" * MAX_EVENT_BYTES)])  # empty: refused by AWS
    assert len(only) == 1 and event_size(only[0][1]) <= MAX_EVENT_BYTES


def test_the_sender_creates_the_stream_in_the_stacks_group_and_sends_on_close_not_before(capsys):
    with mock_aws():
        logs = boto3.client("logs", region_name="us-east-1")
        logs.create_log_group(logGroupName="/aws/lambda/existing")  # the stack made it
        logs.create_log_group(logGroupName="/aws/lambda/new")
        sender = LogSender(lambda: boto3.client("logs", region_name="us-east-1"), interval_s=60)
        now = now_ms()
        sender.put("/aws/lambda/existing", "s1", "second", timestamp_ms=now)
        sender.put("/aws/lambda/existing", "s1", "first", timestamp_ms=now - 1)
        sender.put("/aws/lambda/new", "s2", "alone")
        sender.put("/aws/lambda/missing", "s3", "lost")
        assert logs.describe_log_streams(logGroupName="/aws/lambda/existing")["logStreams"] == []
        sender.close()
        # a group the stack did not make is not made here: a function's role may not create
        # groups, and its lines are lost, as on AWS
        assert {g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]} == {
            "/aws/lambda/existing",
            "/aws/lambda/new",
        }
        assert "/aws/lambda/missing" in capsys.readouterr().err

        def messages(group: str, stream: str) -> list[str]:
            answer = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
            return [event["message"] for event in answer["events"]]

        assert messages("/aws/lambda/existing", "s1") == ["first", "second"]  # in time order
        assert messages("/aws/lambda/new", "s2") == ["alone"]


def test_a_failed_send_is_one_line_on_stderr_and_the_sender_goes_on(capsys):
    calls = []

    class Refusing:
        class exceptions:  # as boto3 names it
            ResourceAlreadyExistsException = KeyError

        def create_log_stream(self, **kwargs):
            calls.append("stream")
            raise ConnectionError("no CloudWatch Logs here")

    sender = LogSender(Refusing, interval_s=0.05)
    sender.put("g", "s", "lost")
    sent_once = threading.Event()
    threading.Timer(0.3, sent_once.set).start()
    sent_once.wait()
    sender.put("g", "s", "lost too")
    sender.close()
    assert calls == ["stream", "stream"]  # tried again, the stream created afresh
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "local_stack: function logs not sent to CloudWatch Logs g "
        "(ConnectionError: no CloudWatch Logs here); further failures are not shown"
    ]
