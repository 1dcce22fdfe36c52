"""Each function acts as its own role (the credentials Lambda gives it: AssumeRole as
lambda.amazonaws.com, ``credentials.function_environment``), and IAM refuses what the role does
not grant: a photo outside the prefixes SerializeImageDataFunctionRole may read (``images/`` and
UploadPrefix) ends ImageAccessDenied, as the README's error table says (issue 24, Found item 5),
while enforcement is on (the default)."""

from __future__ import annotations

import pytest

from local_stack.aws.iam import enforcement, principals
from tests.conftest import SAMPLES_DIR
from tests.unit.workflow.conftest import BUCKET

PHOTO = next(p for p in sorted((SAMPLES_DIR / "images").iterdir()) if p.suffix == ".png")
# keys of the bucket the role names in no statement (issue 24, Found item 5: 4 of 4 classified)
OUTSIDE_THE_ROLE = ["other/a.png", "reviewed/a.png", "batch/manifests/a.png", "data-capture/a.png"]


@pytest.fixture
def enforced(monkeypatch):
    monkeypatch.delenv(enforcement.SWITCH_VARIABLE, raising=False)  # the default: on
    assert enforcement.enforced()
    principals.forget_all()


@pytest.mark.parametrize("key", OUTSIDE_THE_ROLE)
def test_a_key_the_role_cannot_read_ends_image_access_denied(workflow, enforced, key):
    workflow.put(key, PHOTO.read_bytes())  # as the administrator: the object is there
    # a client made outside an invocation (by another test) would hold the test's own key
    workflow.function("SerializeImageData").image_store.s3_client.cache_clear()
    execution = workflow.run({"s3_bucket": BUCKET, "s3_key": key})
    assert execution["status"] == "FAILED", execution
    assert execution["error"] == "ImageAccessDenied", execution
    assert "SerializeImageDataFunctionRole" in execution["cause"] or "403" in execution["cause"], execution
