"""``review decide <id> bicycle|motorcycle|neither``: one review's verdict."""

from __future__ import annotations

import argparse
import json

from review.commands.stack_reviews import open_reviews
from review.verdicts import VERDICTS

HELP = "give one review's verdict"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="the review's id (its execution's name), as pending lists it")
    p.add_argument("verdict", choices=VERDICTS)


def run(args: argparse.Namespace) -> int:
    print(json.dumps(open_reviews(args).decide(args.id, args.verdict)))
    return 0
