"""Fixtures for the cloud commands: a tiny fake CIFAR-100 archive, moto, and a Stubber that
sits on the boto3 client sagemaker-core sends through."""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import boto3
import numpy as np
import pytest
from moto import mock_aws  # imported before any session exists, so every client is patched

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "cifar100-bicycle-motorcycle"
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service-role/SageMakerExecution"
BUCKET = "scones-test-bucket"


def _batch(fine_labels: list[int], prefix: str) -> dict:
    """The shape of CIFAR-100's python pickles, read with encoding='bytes': keys are bytes."""
    n = len(fine_labels)
    rng = np.random.default_rng(len(prefix) + n)
    return {
        b"filenames": [f"{prefix}_{i:06d}.png".encode() for i in range(n)],
        b"batch_label": b"fake batch",
        b"fine_labels": fine_labels,
        b"coarse_labels": [0] * n,
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
    }


def build_fake_cifar_archive(path: Path) -> tuple[Path, str]:
    """cifar-100-python/{train,test} pickles; train: 3 bicycles, 2 motorcycles, 3 others."""
    batches = {
        "train": _batch([8, 3, 48, 8, 99, 48, 8, 0], "train"),
        "test": _batch([48, 8, 5], "test"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, batch in batches.items():
            payload = pickle.dumps(batch, protocol=2)
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path, hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_archive(tmp_path) -> tuple[Path, str]:
    """(path, md5) of a small archive with the official archive's structure."""
    return build_fake_cifar_archive(tmp_path / "source" / "cifar-100-python.tar.gz")


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA_DIR / "train.lst").is_file():
        pytest.skip(f"shared images not found at {SHARED_DATA_DIR}")
    return SHARED_DATA_DIR


@pytest.fixture
def small_image_dir(shared_data, tmp_path) -> Path:
    """20 bicycles and 20 motorcycles of the shared images, in the same layout."""
    from scones_core.lst import read_lst
    from training_job.channels import write_lst

    entries = read_lst(shared_data / "train.lst")
    picked = [e for e in entries if e.label == 0][:20] + [e for e in entries if e.label == 1][:20]
    target = tmp_path / "small"
    (target / "train").mkdir(parents=True)
    for entry in picked:
        (target / "train" / entry.path).write_bytes((shared_data / "train" / entry.path).read_bytes())
    write_lst(target / "train.lst", picked)
    return target


@pytest.fixture(scope="session")
def session() -> boto3.Session:
    """One session for the folder: each new session re-reads botocore's service models (slow),
    and sagemaker-core caches its clients per session."""
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)


@pytest.fixture
def bucket() -> str:
    return BUCKET


@pytest.fixture
def role_arn() -> str:
    return ROLE_ARN


@pytest.fixture
def moto_session(session):
    with mock_aws():
        session.client("s3").create_bucket(Bucket=BUCKET)
        yield session


@pytest.fixture
def cli_uses(monkeypatch):
    """Make the CLI use a given session (each new boto3 session re-reads the service models: slow)."""

    def use(session):
        monkeypatch.setattr("scones_core.aws.make_session", lambda region=None, profile=None: session)
        return session

    return use


@pytest.fixture
def sagemaker_stub(session):
    """A botocore Stubber on the exact client sagemaker-core's resources use for `session`."""
    from botocore.stub import Stubber

    from training_job.aws import sagemaker_core_client

    stubber = Stubber(sagemaker_core_client(session))
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


@pytest.fixture
def aws_stub(session):
    """`aws_stub("cloudwatch")`: a botocore Stubber on the client `scones_core.aws.aws_client`
    hands out for `session` (CloudWatch, CloudFormation, SageMaker Runtime). A call with no
    response queued fails the test, so a test that queues only reads proves there was no write."""
    from botocore.stub import Stubber

    from scones_core.aws import aws_client

    stubbers: dict[str, Stubber] = {}

    def stub(service: str) -> Stubber:
        if service not in stubbers:
            stubbers[service] = Stubber(aws_client(session, service))
            stubbers[service].activate()
        return stubbers[service]

    yield stub
    for stubber in stubbers.values():
        stubber.deactivate()
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
