"""The local S3's journal: what moto accepted comes back in a fresh moto, reads and refused
changes are not kept, a torn last entry is cut off, a multipart upload goes on across a
restart. moto runs in this process, called through WSGI (no socket); a reset of moto stands
for the new process."""

from __future__ import annotations

import re

import pytest
from werkzeug.test import Client

from local_stack.aws.moto_patches import moto_app
from local_stack.processes.s3_journal import JournaledApp


@pytest.fixture
def journal(tmp_path):
    return tmp_path / "journal"


@pytest.fixture
def fresh_moto():
    """moto's S3 as a new process finds it: empty (before and after the test too)."""
    app = moto_app()

    def reset() -> None:
        assert Client(app).post("/moto-api/reset").status_code == 200

    reset()
    yield reset
    reset()


# a signed caller (moto checks no signature, but refuses anonymous reads of a private object)
SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host, Signature=0"
}


class Caller(Client):
    def open(self, *args, **kwargs):
        return super().open(*args, headers={**SIGNED, **kwargs.pop("headers", {})}, **kwargs)


def started(journal) -> Caller:
    app = JournaledApp(moto_app(), journal)
    app.replay()
    return Caller(app)


def test_accepted_changes_come_back_in_a_fresh_moto(journal, fresh_moto):
    s3 = started(journal)
    assert s3.put("/bucket").status_code == 200
    assert s3.put("/bucket/kept.txt", data=b"kept").status_code == 200
    assert s3.put("/bucket/gone.txt", data=b"gone").status_code == 200
    assert s3.delete("/bucket/gone.txt").status_code == 204

    fresh_moto()
    assert Caller(moto_app()).get("/bucket/kept.txt").status_code == 404  # moto forgot
    app = JournaledApp(moto_app(), journal)
    assert app.replay() == 4
    s3 = Caller(app)
    assert s3.get("/bucket/kept.txt").data == b"kept"
    assert s3.get("/bucket/gone.txt").status_code == 404


def test_reads_and_refused_changes_are_not_journaled(journal, fresh_moto):
    s3 = started(journal)
    assert s3.put("/no-such-bucket/key", data=b"x").status_code == 404
    assert journal.stat().st_size == 0
    s3.put("/bucket")
    size = journal.stat().st_size
    assert s3.get("/bucket").status_code == 200
    assert s3.head("/bucket").status_code == 200
    assert journal.stat().st_size == size


def test_a_torn_last_entry_is_cut_off_and_the_journal_goes_on(journal, fresh_moto):
    s3 = started(journal)
    s3.put("/bucket")
    s3.put("/bucket/whole.txt", data=b"whole")
    with journal.open("ab") as torn:  # the process was killed in the middle of an entry
        torn.write(b'{"variables": {"REQUEST_METHOD": "PUT"}, "length": 99}\nhal')

    fresh_moto()
    s3 = started(journal)
    assert s3.get("/bucket/whole.txt").data == b"whole"
    s3.put("/bucket/after.txt", data=b"after")

    fresh_moto()
    s3 = started(journal)
    assert s3.get("/bucket/after.txt").data == b"after"


def test_a_multipart_upload_goes_on_across_a_restart_with_the_id_its_client_holds(journal, fresh_moto):
    s3 = started(journal)
    s3.put("/bucket")
    upload_id = re.search(r"<UploadId>(.+)</UploadId>", s3.post("/bucket/big?uploads").text).group(1)
    part = b"a" * (5 * 1024 * 1024)  # S3's smallest part but the last
    etag1 = s3.put(f"/bucket/big?partNumber=1&uploadId={upload_id}", data=part).headers["ETag"]

    fresh_moto()
    s3 = started(journal)  # draws a new id for the upload
    etag2 = s3.put(f"/bucket/big?partNumber=2&uploadId={upload_id}", data=b"end").headers["ETag"]
    complete = (
        "<CompleteMultipartUpload>"
        f"<Part><PartNumber>1</PartNumber><ETag>{etag1}</ETag></Part>"
        f"<Part><PartNumber>2</PartNumber><ETag>{etag2}</ETag></Part>"
        "</CompleteMultipartUpload>"
    )
    assert s3.post(f"/bucket/big?uploadId={upload_id}", data=complete).status_code == 200
    assert s3.get("/bucket/big").data == part + b"end"


def test_a_replay_names_the_upload_events_whose_writes_it_holds(journal, fresh_moto):
    from local_stack.processes.s3_journal import UPLOAD_EVENT

    s3 = started(journal)
    assert s3.put("/bucket").status_code == 200
    assert s3.put("/bucket/a.png", data=b"a", environ_overrides={UPLOAD_EVENT: "stored"}).status_code == 200
    refused = s3.put("/missing/a.png", data=b"a", environ_overrides={UPLOAD_EVENT: "refused"})
    assert refused.status_code == 404

    fresh_moto()
    app = JournaledApp(moto_app(), journal)
    app.replay()
    assert app.stored_events == {"stored"}
