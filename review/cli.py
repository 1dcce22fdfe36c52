"""``python -m review pending [--json]``, ``decide <id> bicycle|motorcycle|neither``, ``serve``.

Works against AWS with the user's credentials and against the local stack with ``up``'s exports
(AWS_ENDPOINT_URL, ...): the queue and the reviewed data set come from the stack's Outputs."""

from __future__ import annotations

import argparse
import json
import os
import sys

from review.verdicts import VERDICTS
from scones_core.project import DEFAULT_STACK_NAME


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m review", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-name", default=DEFAULT_STACK_NAME, help=f"default {DEFAULT_STACK_NAME}")
    parser.add_argument(
        "--region", default=os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
    )
    commands = parser.add_subparsers(dest="command", required=True)
    pending = commands.add_parser("pending", help="claim the pending reviews (5 minutes each) and list them")
    pending.add_argument("--json", action="store_true", help="one JSON object per line")
    pending.add_argument("--limit", type=int, default=100)
    decide = commands.add_parser("decide", help="give one review's verdict")
    decide.add_argument("id", help="the review's id (its execution's name), as pending lists it")
    decide.add_argument("verdict", choices=VERDICTS)
    serve = commands.add_parser("serve", help="the review page on 127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="default 8765; 0: any free port")
    return parser


def main(argv: list[str] | None = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from review.exceptions import ReviewError, ReviewUsageError

    args = build_parser().parse_args(argv)
    try:
        reviews = _reviews(args)
        if args.command == "pending":
            return _pending(reviews, args)
        if args.command == "decide":
            print(json.dumps(reviews.decide(args.id, args.verdict)))
            return 0
        from review.page import serve

        serve(reviews, port=args.port)
        return 0
    except ReviewUsageError as error:
        print(f"review: {error}", file=sys.stderr)
        return 2
    except ReviewError as error:
        print(f"review: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"review: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _reviews(args: argparse.Namespace):
    import boto3

    from review.queue import claims_path
    from review.service import Reviews
    from review.stack import review_stack

    session = boto3.Session(region_name=args.region or "us-east-1")
    return Reviews(session, review_stack(session.client("cloudformation"), args.stack_name), claims_path())


def _pending(reviews, args: argparse.Namespace) -> int:
    found = reviews.pending(args.limit)
    for review in found:
        if args.json:
            print(json.dumps(review.public()))
        else:
            print(f"{review.id}\t{review.label}\t{review.confidence:.4f}\t{review.s3_uri}")
    if not args.json:
        print(
            f"# {len(found)} pending, yours for 5 minutes: "
            "python -m review decide <id> bicycle|motorcycle|neither",
            file=sys.stderr,
        )
    return 0
