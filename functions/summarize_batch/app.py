"""SummarizeBatch: the batch's own function. Before any photo, check what the input names (its
bucket, its manifest of expected labels); after the Map, read the run's results and write
summary.json beside them."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from check import check_batch
from event import CHECK, BatchInput, BatchRun, action_of
from exceptions import InvalidManifest, ManifestNotFound
from results_store import read_json, read_text, write_json
from summary import expected_labels, outcomes_of_failed, outcomes_of_succeeded, result_file_keys, summarize

logger = Logger()
metrics = Metrics()


def summarize_batch(run: BatchRun) -> dict:
    files = result_file_keys(read_json(run.bucket, run.results_key))
    outcomes = [o for key in files["SUCCEEDED"] for o in outcomes_of_succeeded(read_json(run.bucket, key))]
    for status in ("FAILED", "PENDING"):
        outcomes += [o for key in files[status] for o in outcomes_of_failed(read_json(run.bucket, key))]
    expected = None
    if run.manifest_key is not None:
        text = read_text(run.bucket, run.manifest_key, missing=ManifestNotFound, invalid=InvalidManifest)
        expected = expected_labels(text, manifest_key=run.manifest_key, prefix=run.prefix)
    summary = {
        "map_run_arn": run.map_run_arn,
        "results": f"s3://{run.bucket}/{run.results_key}",
        "summary": f"s3://{run.bucket}/{run.summary_key}",
        **summarize(outcomes, expected),
    }
    write_json(run.bucket, run.summary_key, summary)
    metrics.add_metric(name="BatchPhotosAnswered", unit=MetricUnit.Count, value=summary["answered"])
    metrics.add_metric(name="BatchPhotosRefused", unit=MetricUnit.Count, value=summary["refused"])
    logger.info("batch summarized", extra={"photos": summary["photos"], "summary": summary["summary"]})
    return summary


@logger.inject_lambda_context(correlation_id_path="execution.id")
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    if action_of(event) == CHECK:
        checked = check_batch(BatchInput.from_event(event))
        logger.info("batch input checked", extra=checked)
        return checked
    return summarize_batch(BatchRun.from_event(event))
