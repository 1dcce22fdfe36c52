"""``review serve``: the review page on 127.0.0.1."""

from __future__ import annotations

import argparse

from review.commands.stack_reviews import open_reviews

HELP = "the review page on 127.0.0.1"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8765, help="default 8765; 0: any free port")


def run(args: argparse.Namespace) -> int:
    from review.page import serve

    serve(open_reviews(args), port=args.port)
    return 0
