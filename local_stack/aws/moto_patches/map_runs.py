"""The Distributed Map (in the ``interpreter`` group): what moto 5.2.5's interpreter lacks of it,
patched in where its internals run the Map. What each provides, and why, is in
``aws.distributed_map``, which holds the plain logic; each patch below says what moto did.
"""

from __future__ import annotations

import datetime
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from local_stack.aws import distributed_map
from local_stack.aws.moto_patches.patch import ASL, STATE_MAP, Patch, components_of


def _parse_local_distributed_maps(original: Callable) -> Callable:
    """``...asl.parse.asl_parser:AmazonStateLanguageParser.parse(definition)`` cannot parse
    ``ItemBatcher``, ``"ExecutionType": "EXPRESS"`` or an integer ``ToleratedFailurePercentage``;
    it gets the definition ``distributed_map.local_definition`` rewrites, and each batched Map's
    iteration component gets its ``ItemBatcher`` (attribute ``local_item_batcher``)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap

    def parse(definition: str) -> Any:
        rewritten, batchers = distributed_map.local_definition(definition)
        program, tree = original(rewritten)
        if batchers:
            for state in components_of(program, StateMap):
                if state.name in batchers:
                    state.iteration_component.local_item_batcher = batchers[state.name]
        return program, tree

    return parse


def _map_run_with_batches_and_tolerance(_original: Callable) -> Callable:
    """``...state_map.iteration.distributed_iteration_component:DistributedIterationComponent.
    _map_run(self, env, eval_input)`` runs the children: with a batcher, one child per batch of
    items (``{"Items", "BatchInput"}``); it keeps each child's input and end on the Map Run's
    record (``local_results``) and fails the Map with ``States.ExceedToleratedFailureThreshold``
    when more items failed than ``ToleratedFailureCount``/``ToleratedFailurePercentage``
    tolerate (moto never did), once every child has ended (AWS stops at the first failure over
    the threshold)."""
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job import JobPool
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.max_concurrency import (
        DEFAULT_MAX_CONCURRENCY_VALUE,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    def _map_run(self: Any, env: Any, eval_input: Any) -> None:
        items = env.stack.pop()
        batcher = getattr(self, "local_item_batcher", None)
        if batcher is not None:
            batch_input = distributed_map.evaluated_payload(batcher.batch_input, env.states.get_input())
            inputs = distributed_map.batches(
                items, batcher.resolved(env.states.get_input()), batch_input if batcher.batch_input else None
            )
        else:
            inputs = list(items)
        pool = JobPool(job_program=self._get_iteration_program(), job_inputs=inputs)
        record = eval_input.map_run_record
        record.local_batched = batcher is not None
        record.local_times = {}
        concurrency = record.max_concurrency
        for _ in range(
            len(inputs) if concurrency == DEFAULT_MAX_CONCURRENCY_VALUE else min(concurrency, len(inputs))
        ):
            self._launch_worker(env=env, eval_input=eval_input, job_pool=pool)
        pool.await_jobs()
        if pool.get_worker_exception() is not None:
            raise pool.get_worker_exception()
        ended = datetime.datetime.now(datetime.UTC)  # for a job closed unrun (its worker stopped)
        results = [
            distributed_map.ChildResult(
                inputs[job.job_index], job.job_output, *record.local_times.get(job.job_index, (ended, ended))
            )
            for job in pool.get_closed_jobs()
        ]
        record.local_results = results
        failed = sum(distributed_map.items_in(r.input, batcher is not None) for r in results if r.failed)
        percentage = float(eval_input.tolerated_failure_percentage or 0)
        count = int(eval_input.tolerated_failure_count or 0)
        if not distributed_map.failure_tolerated(failed, len(items), count=count, percentage=percentage):
            error = StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold)
            cause = distributed_map.tolerance_exceeded_cause(failed, len(items), percentage)
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=error,
                    event_type=HistoryEventType.MapRunFailed,
                    event_details=EventDetails(
                        mapRunFailedEventDetails={"error": error.error_name, "cause": cause}
                    ),
                )
            )
        env.stack.append([r.output for r in results if not r.failed])

    return _map_run


def _children_one_after_another(_original: Callable) -> Callable:
    """``...itemprocessor.distributed_item_processor_worker:DistributedItemProcessorWorker.
    _eval_pool(self, job, worker_frame)`` called itself for each next child, keeping every
    child's environment until the worker's last, and raised a RecursionError past ~1,000
    children a worker: it loops."""

    def _eval_pool(self: Any, job: Any, worker_frame: Any) -> None:
        # a loop, each child's frame (its environment, its events, each photo's base64 among
        # them) let go when it ends, not held on the stack until the worker's last child
        while job is not None:
            job_frame = worker_frame.open_inner_frame()
            self._eval_job(env=job_frame, job=job)
            worker_frame.delete_frame(job_frame)
            job_frame = None
            if isinstance(job.job_output, Exception) or self.stopped():
                break
            next_job = self._job_pool.next_job()
            if next_job is None:
                break
            self._job_pool.close_job(job)
            job = next_job
        self._env.delete_frame(worker_frame)
        if job is not None:
            self._job_pool.close_job(job)

    return _eval_pool


@dataclass
class _UncountedMapRun:
    """What moto's worker counts a child in, thrown away: ``distributed_map.count_*`` count it."""

    execution_counter: Any
    item_counter: Any


def _children_on_their_own(eval_job: Callable) -> Callable:
    """``...distributed_item_processor_worker:DistributedItemProcessorWorker._eval_job(self,
    env, job)`` gave a failed child the output ``None``; it gets ``FailedChild(error, cause)``.
    moto also gave all the children of a Map Run one event list, kept until the Map Run ended (a
    batch's memory grew with its photos: each photo's base64 is in its child's events): each
    child gets its own, forgotten when it ends. And moto counted a batch of items as one item and
    left a failed child running in DescribeMapRun: ``distributed_map.count_started/count_ended``
    count each child once and each of its items, as AWS does. Each child's start and end are kept
    for the result files (by index: the pool keeps a closed job as a copy of its index and
    output only)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
        map_run_record,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.parser.asl.eval.program_state import (
        ProgramEnded,
        ProgramError,
        ProgramStopped,
        ProgramTimedOut,
    )

    def _eval_job(self: Any, env: Any, job: Any) -> None:
        record = self._map_run_record
        items = distributed_map.items_in(job.job_input, getattr(record, "local_batched", False))
        distributed_map.count_started(record, items)
        # Each child keeps its own events, forgotten when it ends (an Express child's history
        # is not kept): moto gave all the children of a Map Run one list, which held each
        # photo's events, its base64 among them, until the whole batch ended
        env.event_manager = EventManager()
        started = datetime.datetime.now(datetime.UTC)  # the result files' StartDate
        # moto counted a batch of items as one item, and a failed child as running forever
        self._map_run_record = _UncountedMapRun(
            map_run_record.ExecutionCounter(), map_run_record.ItemCounter()
        )
        try:
            eval_job(self, env, job)
        finally:
            self._map_run_record = record
            # by index: the pool keeps a closed job as a copy of its index and output only
            record.local_times[job.job_index] = (started, datetime.datetime.now(datetime.UTC))
        state = env.program_state()
        if isinstance(state, ProgramEnded):
            outcome = distributed_map.SUCCEEDED
        elif isinstance(state, ProgramError):
            outcome = distributed_map.FAILED
            details = state.error or {}
            job.job_output = distributed_map.FailedChild(
                details.get("error", "States.Runtime"), details.get("cause", "")
            )
        elif isinstance(state, ProgramTimedOut):
            outcome = distributed_map.TIMED_OUT
            job.job_output = distributed_map.FailedChild("States.Timeout", "The child execution timed out")
        else:
            outcome = distributed_map.ABORTED if isinstance(state, ProgramStopped) else distributed_map.FAILED
            job.job_output = distributed_map.FailedChild(
                "States.Runtime", f"the child execution ended {type(state).__name__}"
            )
        distributed_map.count_ended(record, items, outcome)

    return _eval_job


def _execution_environment(execution: Any) -> Any:
    """The interpreter's environment of an execution; None until its worker has begun."""
    worker = getattr(execution, "exec_worker", None)
    return getattr(worker, "env", None)


def _map_runs_once_started(original: Callable) -> Callable:
    """``moto.stepfunctions.parser.models:StepFunctionsParserBackend.list_map_runs(self,
    execution_arn)`` answered 500 while the execution had not begun: it answers ``[]``."""

    def list_map_runs(self: Any, execution_arn: str) -> dict[str, Any]:
        # moto answered 500 (an AttributeError) until the execution's worker had begun
        if _execution_environment(self.describe_execution(execution_arn=execution_arn)) is None:
            return {"mapRuns": []}
        return original(self, execution_arn)

    return list_map_runs


def _map_run_described_while_others_start(_original: Callable) -> Callable:
    """``...StepFunctionsParserBackend.describe_map_run(self, map_run_arn)`` answered 500 while
    any execution had not begun, and raised a TypeError for an unknown Map Run: it answers
    ``ResourceNotFound``."""
    from moto.stepfunctions.exceptions import ResourceNotFound

    def describe_map_run(self: Any, map_run_arn: str) -> dict[str, Any]:
        # moto looked through every execution and answered 500 when any one had not begun, or
        # when none had the Map Run (its ResourceNotFound() lacked the message it requires)
        for execution in self._get_executions():
            env = _execution_environment(execution)
            record = env.map_run_record_pool_manager.get(map_run_arn) if env is not None else None
            if record is not None:
                return record.describe()
        raise ResourceNotFound(map_run_arn)

    return describe_map_run


def _result_files_written(_original: Callable) -> Callable:
    """``...result_writer.resource_eval.resource_eval_s3:ResourceEvalS3._handle_put_object(env,
    resource_runtime_part, state_credentials)`` wrote only an empty manifest.json; it writes
    ``SUCCEEDED_0.json``/``FAILED_0.json`` as AWS does (``distributed_map.result_files``)."""

    def _handle_put_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
            resource_eval_s3,
        )

        parameters = env.stack.pop()
        env.stack.pop()  # the Map's outputs: the records below also have the failed children
        s3 = resource_eval_s3.ResourceEvalS3._get_s3_client(resource_runtime_part, state_credentials)
        record = env.map_run_record_pool_manager.get_all().pop()
        manifest_key, files = distributed_map.result_files(
            getattr(record, "local_results", []),
            bucket=parameters["Bucket"],
            prefix=parameters.get("Prefix", ""),
            map_run_arn=record.map_run_arn,
            state_machine_arn=record.map_state_machine_arn,
        )
        for key, body in files.items():
            s3.put_object(Bucket=parameters["Bucket"], Key=key, Body=body)
        record.local_results = []  # written: the Map Run's record is kept as long as its execution
        env.stack.append(
            {
                "MapRunArn": record.map_run_arn,
                "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": manifest_key},
            }
        )

    return _handle_put_object


def _result_writer_reads_the_maps_input(_original: Callable) -> Callable:
    """``...result_writer.result_writer_decl:ResultWriter._eval_body(self, env)`` read its
    Parameters' paths (``"Bucket.$": "$.s3_bucket"``) from the Map's outputs; it reads them from
    the Map state's input, as AWS does."""

    def _eval_body(self: Any, env: Any) -> None:
        # moto read Parameters' paths from the Map's outputs (the top of its stack); AWS reads
        # them from the Map state's input, as every other field of the state
        outputs = env.stack.pop()
        env.stack.append(env.states.get_input())
        self.parargs.eval(env=env)
        parameters = env.stack.pop()
        env.stack.pop()
        env.stack.extend([outputs, parameters])
        self.resource_eval.eval_resource(env=env)

    return _eval_body


def _every_page_listed(_original: Callable) -> Callable:
    """``...item_reader.eval.resource_eval_s3:ResourceEvalS3._handle_list_objects_v2(...)`` read
    one page (1,000 objects) and failed on an empty prefix; it reads every page."""

    def _handle_list_objects_v2(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import (
            resource_eval_s3,
        )

        s3 = resource_eval_s3.ResourceEvalS3._get_s3_client(resource_runtime_part, state_credentials)
        parameters = env.stack.pop()
        items = []
        for page in s3.get_paginator("list_objects_v2").paginate(**parameters):
            for item in page.get("Contents", []):
                # AWS gives the item's LastModified as text; JSON has no datetime
                items.append({**item, "LastModified": str(item["LastModified"])})
        env.stack.append(items)

    return _handle_list_objects_v2


def _s3_at_its_endpoint(original: Callable) -> Callable:
    """``boto_client_for`` as imported by the ItemReader's and the ResultWriter's
    ``resource_eval_s3`` sent S3 calls to the moto server of the stack's own process; with
    ``AWS_ENDPOINT_URL_S3`` set (the local stack's S3 process), they go there, as a client of AWS
    would. In-process moto (``mock_aws``, the unit tests) keeps moto's own client."""
    from moto.core.models import botocore_stubber

    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        url = os.environ.get("AWS_ENDPOINT_URL_S3")
        if service != "s3" or not url or botocore_stubber.enabled:
            return original(region, service, state_credentials)
        with lock:
            if (region, url) not in clients:
                clients[(region, url)] = boto3.client(
                    "s3",
                    region_name=region,
                    endpoint_url=url,
                    config=BotoConfig(retries={"total_max_attempts": 1}),
                )
            return clients[(region, url)]

    return boto_client_for


PATCHES = (
    Patch(
        f"{ASL}.parse.asl_parser:AmazonStateLanguageParser.parse",
        ("definition",),
        _parse_local_distributed_maps,
    ),
    Patch(
        f"{STATE_MAP}.iteration.distributed_iteration_component:DistributedIterationComponent._map_run",
        ("self", "env", "eval_input"),
        _map_run_with_batches_and_tolerance,
    ),
    Patch(
        f"{STATE_MAP}.iteration.itemprocessor.distributed_item_processor_worker:"
        "DistributedItemProcessorWorker._eval_pool",
        ("self", "job", "worker_frame"),
        _children_one_after_another,
    ),
    Patch(
        f"{STATE_MAP}.iteration.itemprocessor.distributed_item_processor_worker:"
        "DistributedItemProcessorWorker._eval_job",
        ("self", "env", "job"),
        _children_on_their_own,
    ),
    Patch(
        "moto.stepfunctions.parser.models:StepFunctionsParserBackend.list_map_runs",
        ("self", "execution_arn"),
        _map_runs_once_started,
    ),
    Patch(
        "moto.stepfunctions.parser.models:StepFunctionsParserBackend.describe_map_run",
        ("self", "map_run_arn"),
        _map_run_described_while_others_start,
    ),
    Patch(
        f"{STATE_MAP}.result_writer.resource_eval.resource_eval_s3:ResourceEvalS3._handle_put_object",
        ("env", "resource_runtime_part", "state_credentials"),
        _result_files_written,
    ),
    Patch(
        f"{STATE_MAP}.result_writer.result_writer_decl:ResultWriter._eval_body",
        ("self", "env"),
        _result_writer_reads_the_maps_input,
    ),
    Patch(
        f"{STATE_MAP}.item_reader.eval.resource_eval_s3:ResourceEvalS3._handle_list_objects_v2",
        ("env", "resource_runtime_part", "state_credentials"),
        _every_page_listed,
    ),
    Patch(
        f"{STATE_MAP}.item_reader.eval.resource_eval_s3:boto_client_for",
        ("region", "service", "state_credentials"),
        _s3_at_its_endpoint,
    ),
    Patch(
        f"{STATE_MAP}.result_writer.resource_eval.resource_eval_s3:boto_client_for",
        ("region", "service", "state_credentials"),
        _s3_at_its_endpoint,
    ),
)
