"""``batch``'s options for sizing a batch to its endpoint (docs/batch.md, "Sizing a batch to its
endpoint"), apart from ``commands.batch`` so that building the parser imports no AWS SDK."""

from __future__ import annotations

import argparse


def add_sizing_options(parser: argparse.ArgumentParser) -> None:
    # --endpoint-instances is a stack option (the local endpoint's InstanceCount): given, the batch is
    # sized to it too, instead of asking DescribeEndpoint
    parser.add_argument(
        "--per-instance-concurrency",
        type=int,
        metavar="K",
        help="calls one instance serves at once (default: an ml.m5.large's, 3)",
    )
