"""CheckBatch: what a batch's input names, checked before any photo is listed or classified, so
that a batch fails at once and by name rather than after its last photo: the bucket exists
(BucketNotFound), and the manifest of expected labels, when the input names one, is there
(ManifestNotFound) and reads (InvalidManifest)."""

from __future__ import annotations

from event import BatchInput
from exceptions import InvalidManifest, ManifestNotFound
from results_store import check_bucket_exists, read_text
from summary import checked_expected_labels

# read to learn whether the bucket exists when no manifest is named (a key SummarizeBatch may
# read: S3 answers NoSuchBucket for a missing bucket, NoSuchKey or AccessDenied otherwise)
BUCKET_PROBE_KEY = "batch/manifests/"


def check_batch(batch: BatchInput) -> dict:
    """``{"bucket", "prefix", "labelled"}``: the number of photos the manifest labels (None
    without a manifest)."""
    labelled = None
    if batch.manifest_key is None:
        check_bucket_exists(batch.bucket, BUCKET_PROBE_KEY)
    else:
        text = read_text(batch.bucket, batch.manifest_key, missing=ManifestNotFound, invalid=InvalidManifest)
        labelled = len(checked_expected_labels(text, manifest_key=batch.manifest_key, prefix=batch.prefix))
    return {"bucket": batch.bucket, "prefix": batch.prefix, "labelled": labelled}
