"""``stage``: CIFAR-100's bicycles and motorcycles as the four S3 channels of the training job."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from scones_core.project import CIFAR_MD5, CIFAR_URL, DEFAULT_PREFIX
from training_job.commands.cloud import out, session
from training_job.commands.reviewed_options import add_reviewed_options, reviewed_line, reviewed_uri

NAME = "stage"
HELP = "stage CIFAR-100 bicycles/motorcycles as the four S3 channels"
DESCRIPTION = (
    "Download CIFAR-100 (or read --from-dir), keep bicycles (0) and motorcycles (1), "
    "write PNGs + .lst files and upload the train, validation, train_lst and validation_lst "
    "channels to s3://BUCKET/PREFIX/. Reruns upload only files whose size or MD5 changed."
)


def _default_work_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "scones-vehicle-classifier"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bucket", required=True, help="S3 bucket (must exist)")
    p.add_argument("--prefix", default=DEFAULT_PREFIX, help="key prefix (default: %(default)s)")
    p.add_argument(
        "--from-dir",
        type=Path,
        help="offline: a folder with train.lst + train/*.png (e.g. ../shared/data/"
        "cifar100-bicycle-motorcycle); a validation split is carved out of it",
    )
    p.add_argument(
        "--work-dir",
        type=Path,
        default=_default_work_dir(),
        help="where the archive and the channel tree are kept (default: %(default)s)",
    )
    p.add_argument(
        "--source-url", default=CIFAR_URL, help="archive URL, https:// or file:// (default: %(default)s)"
    )
    p.add_argument(
        "--source-md5", default=CIFAR_MD5, help="expected MD5 of the archive (default: %(default)s)"
    )
    p.add_argument(
        "--validation-fraction",
        type=float,
        default=0.2,
        help="with --from-dir: share of each class held out for validation (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="with --from-dir: split seed (default: %(default)s)")
    p.add_argument(
        "--delete", action="store_true", help="delete objects under the channels that are no longer staged"
    )
    add_reviewed_options(p)


def run(args: argparse.Namespace) -> int:
    from training_job import staging

    opened = session(args)
    reviewed = reviewed_uri(args, opened)
    result = staging.stage(
        opened,
        args.bucket,
        args.prefix,
        args.work_dir,
        from_dir=args.from_dir,
        source_url=args.source_url,
        source_md5=args.source_md5,
        validation_fraction=args.validation_fraction,
        seed=args.seed,
        delete=args.delete,
        progress=not args.quiet,
        reviewed_uri=reviewed,
    )
    sync = result.sync
    out(f"images: {result.counts.train} train, {result.counts.validation} validation")
    if result.reviewed is not None:
        out(reviewed_line(result.reviewed, reviewed))
    out(f"uploaded {len(sync.uploaded)} files, {len(sync.unchanged)} unchanged")
    if sync.deleted:
        out(f"deleted {len(sync.deleted)} objects no longer staged")
    elif sync.stale:
        out(f"{len(sync.stale)} objects under the channels are no longer staged (--delete removes them)")
    for channel, uri in result.uris.items():
        out(f"  {channel:<15} {uri}")
    out(f"next: python -m training_job train --bucket {args.bucket} --prefix {args.prefix} --role-arn ARN")
    return 0
