"""``review pending``: claim the pending reviews (5 minutes each) and list them."""

from __future__ import annotations

import argparse
import json
import sys

from review.commands.stack_reviews import open_reviews

HELP = "claim the pending reviews (5 minutes each) and list them"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--limit", type=int, default=100)


def run(args: argparse.Namespace) -> int:
    found = open_reviews(args).pending(args.limit)
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
