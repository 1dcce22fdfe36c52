"""Names the cloud commands share: the project tag, the classes, the data source, defaults.

The one source of the classes and the default threshold for all code but the Lambdas, which
are separate deploy packages with copies (tests/unit/test_domain_facts.py proves them equal).
It imports nothing, so any package imports it at no cost.
"""

PROJECT_TAG_KEY = "project"
PROJECT_TAG_VALUE = "scones-vehicle-classifier"
#: Every SageMaker resource the commands create carries this tag; `teardown` finds them by it.
PROJECT_TAG = {"Key": PROJECT_TAG_KEY, "Value": PROJECT_TAG_VALUE}
#: Models and endpoint configs also carry the endpoint they were made for.
ENDPOINT_TAG_KEY = "endpoint"

#: Label index -> class name, as the endpoint answers `[p_bicycle, p_motorcycle]`.
CLASS_NAMES = ("bicycle", "motorcycle")
#: template.yaml's ConfidenceThreshold default: reports and evaluations judge the cut that
#: FilterInferences applies.
DEFAULT_CONFIDENCE_THRESHOLD = 0.93
#: CIFAR-100 fine label -> our label.
CIFAR_FINE_LABELS = {8: 0, 48: 1}

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
CIFAR_MD5 = "eb9058c3a382ffc7106e4002c42a8d85"
CIFAR_ARCHIVE_NAME = "cifar-100-python.tar.gz"

#: The four channels SageMaker's built-in image-classification algorithm reads in
#: image format (File mode): the images and their .lst files.
TRAIN, VALIDATION = "train", "validation"
CHANNELS = (TRAIN, VALIDATION, f"{TRAIN}_lst", f"{VALIDATION}_lst")

DEFAULT_PREFIX = "vehicle-classifier"
#: `train` names its jobs `vehicle-ic-<UTC timestamp>`; teardown knows their log streams by it.
TRAINING_JOB_PREFIX = "vehicle-ic-"
DEFAULT_STACK_NAME = "scones-vehicle-classifier"
ALGORITHM = "image-classification"

DEFAULT_TRAINING_INSTANCE = "ml.g4dn.xlarge"
#: How long `deploy` waits for an endpoint that another operation is changing: creating or
#: updating an endpoint on one instance takes some minutes; twenty leave room for a rollback.
DEFAULT_BUSY_WAIT_SECONDS = 1200
DEFAULT_ENDPOINT_INSTANCE = "ml.m5.large"

#: Approximate on-demand prices in us-east-1 (USD per hour), for the messages only.
APPROX_HOURLY_USD = {
    "ml.g4dn.xlarge": 0.74,
    "ml.p3.2xlarge": 3.83,
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
}


#: What BatchClassify records for a folder marker it skipped (SkipFolderMarker): no photo; the
#: summary counts it apart (``folder_markers``), and every reader of the result files skips it.
FOLDER_MARKER_ERROR = "FolderMarker"


def is_folder_marker(listed: dict) -> bool:
    """A "folder" as the S3 console makes one: a key ending in ``/``, 0 bytes (an item as S3's
    ListObjectsV2, and so the batch's ItemReader, gives it)."""
    return str(listed.get("Key", "")).endswith("/") and listed.get("Size") == 0


def project_tags(endpoint_name: str | None = None) -> list[dict[str, str]]:
    """The tags for a resource this project creates (plus the endpoint it serves, if any)."""
    tags = [dict(PROJECT_TAG)]
    if endpoint_name:
        tags.append({"Key": ENDPOINT_TAG_KEY, "Value": endpoint_name})
    return tags
