"""``train``: a SageMaker training job of the built-in image-classification algorithm on the
staged channels, waited for with progress."""

from __future__ import annotations

import argparse

from scones_core.project import DEFAULT_PREFIX, DEFAULT_TRAINING_INSTANCE
from training_job.commands.cloud import add_role_arn, out, session
from training_job.commands.reviewed_options import add_reviewed_options, reviewed_line, reviewed_uri

NAME = "train"
HELP = "train the built-in image-classification algorithm"
DESCRIPTION = (
    "Start a SageMaker training job (built-in image-classification, 2 classes) on "
    "the staged channels: by default an ImageNet-pretrained ResNet-18 fine-tuned at 3x224x224, "
    "the algorithm upscaling the 32x32 images (resize=224), as its documentation requires of "
    "pretrained models; --from-scratch trains a small-image ResNet at 3x32x32 instead. Waits "
    "with progress, prints validation:accuracy and the model artifact's S3 URI."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bucket", required=True, help="bucket that `stage` filled")
    p.add_argument("--prefix", default=DEFAULT_PREFIX, help="key prefix (default: %(default)s)")
    add_role_arn(p)
    p.add_argument(
        "--instance-type",
        default=DEFAULT_TRAINING_INSTANCE,
        help="GPU training instance (default: %(default)s, about $0.74/h on demand)",
    )
    p.add_argument("--epochs", type=int, default=30, help="(default: %(default)s; early stopping is on)")
    p.add_argument("--learning-rate", type=float, default=0.01, help="(default: %(default)s)")
    p.add_argument("--mini-batch-size", type=int, default=32, help="(default: %(default)s)")
    p.add_argument(
        "--from-scratch",
        action="store_true",
        help="train a small-image ResNet at 3x32x32 instead of fine-tuning an ImageNet one at 3x224x224",
    )
    p.add_argument(
        "--num-layers",
        type=int,
        help="ResNet depth: 18, 34, 50, 101, 152 or 200 for transfer learning (default 18); "
        "20, 32, 44, 56 or 110 with --from-scratch (default 20)",
    )
    p.add_argument(
        "--num-training-samples", type=int, help="default: the number of lines of the staged train .lst"
    )
    p.add_argument("--max-run", type=int, default=3600, help="MaxRuntimeInSeconds (default: %(default)s)")
    p.add_argument("--spot", action="store_true", help="managed spot training, with S3 checkpoints")
    p.add_argument(
        "--max-wait",
        type=int,
        help="with --spot: MaxWaitTimeInSeconds, >= --max-run (default: twice --max-run)",
    )
    p.add_argument("--job-name", help="default: vehicle-ic-<UTC timestamp>")
    p.add_argument("--no-wait", action="store_true", help="start the job and return")
    p.add_argument("--poll-seconds", type=float, default=30, help=argparse.SUPPRESS)
    add_reviewed_options(p)


def run(args: argparse.Namespace) -> int:
    from training_job import training
    from training_job.exceptions import UsageError

    if args.spot and args.max_wait is not None and args.max_wait < args.max_run:
        raise UsageError(f"--max-wait ({args.max_wait}) must be >= --max-run ({args.max_run})")
    opened = session(args)
    reviewed = reviewed_uri(args, opened)
    if reviewed is not None:
        from training_job import staging

        merge = staging.merge_reviewed_into_staged(opened.client("s3"), args.bucket, args.prefix, reviewed)
        out(reviewed_line(merge, reviewed))
    samples = args.num_training_samples or training.count_training_samples(
        opened.client("s3"), args.bucket, args.prefix
    )
    config = training.TrainingConfig(
        bucket=args.bucket,
        prefix=args.prefix,
        role_arn=args.role_arn,
        num_training_samples=samples,
        job_name=args.job_name or training.default_job_name(),
        instance_type=args.instance_type,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        mini_batch_size=args.mini_batch_size,
        from_scratch=args.from_scratch,
        num_layers=args.num_layers,
        max_runtime_seconds=args.max_run,
        spot=args.spot,
        max_wait_seconds=args.max_wait,
    )
    recipe = training.hyperparameters(config)  # checked against the documented limits in start()
    job = training.start(opened, config)
    mode = "from scratch" if config.from_scratch else "transfer learning"
    out(
        f"started training job {config.job_name} ({samples} training images, {config.instance_type}"
        f"{', managed spot' if config.spot else ''}; ResNet-{recipe['num_layers']} {mode} at "
        f"{recipe['image_shape'].replace(',', 'x')})"
    )
    if args.no_wait:
        out(f"follow it: aws sagemaker describe-training-job --training-job-name {config.job_name}")
        return 0
    training.wait(job, poll_seconds=args.poll_seconds, progress=not args.quiet)
    result = training.outcome(job)
    accuracy = "not reported" if result.validation_accuracy is None else f"{result.validation_accuracy:.4f}"
    billed = f" (billable {result.billable_seconds} s)" if result.billable_seconds else ""
    out(f"training job {result.job_name}: {result.status}{billed}")
    out(f"validation:accuracy = {accuracy}")
    out(f"model artifact: {result.model_data}")
    out(
        f"next: python -m training_job deploy --model-data {result.model_data} "
        f"--endpoint-name NAME --role-arn {args.role_arn}"
    )
    return 0
