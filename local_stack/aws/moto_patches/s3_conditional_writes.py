"""S3's conditional writes made atomic, and a read never failed by a write of its key (in the
``server`` group, where the local S3 serves).

AWS: PutObject with ``If-None-Match: *`` or ``If-Match: <ETag>`` writes only if no object exists /
the object's ETag is that one, atomically: of two writers that read the same ETag, exactly one
succeeds and the other gets 412 PreconditionFailed (or 409 ConditionalRequestConflict while the
first is in flight), as the S3 user guide's "conditional writes" page describes. A GetObject or
HeadObject at the moment its key is overwritten answers the old object or the new one.

moto 5.2.5: ``S3Response.put_object(self)`` checks both headers, then stores the object, with no
lock between: two writers with the same ETag both pass the check and the second overwrites the
first (the reviewed data set lost lines so: ``review.dataset``). And storing a key disposes of
the object it replaces (``_VersionedKeyStore.setlist`` closes its buffer) while a GetObject or
HeadObject of it may still be reading its ETag or bytes: that read fails, ``ValueError: I/O
operation on closed file`` (a 500 from the server), measured with eight reviewers at once.

We hold a lock per key (striped) across each PutObject (moto's own check and store), GetObject and
HeadObject of that key, so a conditional write is atomic against any other write of the key (the
loser sees the winner's ETag and gets moto's own 412) and a read sees one whole object. A
conditional CompleteMultipartUpload, and CopyObject's source, are not covered (nothing here needs
them)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from local_stack.aws.moto_patches.patch import Patch

STRIPES = 64
_locks = tuple(threading.RLock() for _ in range(STRIPES))


def lock_for(bucket: str, key: str) -> threading.RLock:
    return _locks[hash((bucket, key)) % STRIPES]


def _under_the_keys_lock(original: Callable) -> Callable:
    """``S3Response.put_object(self)`` or ``get_object(self)`` (the key is the request's) holding
    its key's lock: a put's check and store are one step, and a get reads one whole object."""

    def under_lock(self: Any) -> Any:
        with lock_for(self.bucket_name, self.parse_key_name()):
            return original(self)

    return under_lock


def _head_object_whole(original: Callable) -> Callable:
    def head_object(self: Any, bucket_name: str, query: Any, key_name: str, headers: Any) -> Any:
        with lock_for(bucket_name, key_name):
            return original(self, bucket_name, query, key_name, headers=headers)

    return head_object


PATCHES = (
    Patch("moto.s3.responses:S3Response.put_object", ("self",), _under_the_keys_lock),
    Patch("moto.s3.responses:S3Response.get_object", ("self",), _under_the_keys_lock),
    Patch(
        "moto.s3.responses:S3Response.head_object",
        ("self", "bucket_name", "query", "key_name", "headers"),
        _head_object_whole,
    ),
)
