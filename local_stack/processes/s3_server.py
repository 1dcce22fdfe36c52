"""The local S3: a moto server of its own, in a process of its own (see ``child_server``).

S3 is the one service that the Step Functions interpreter never calls, so it needs no share of
the interpreter's moto: the images the handlers read and the capture the endpoint writes are
served here, on another core, while the stack's process runs the interpreter and the handlers.
Clients find it through ``AWS_ENDPOINT_URL_S3``.
"""

from __future__ import annotations

import sys

from local_stack.processes.child_server import ChildServer, serve_until_stopped, start_child_server


def start_s3_server(host: str = "127.0.0.1") -> ChildServer:
    return start_child_server("local_stack.processes.s3_server", host, "local S3")


def _start(host: str):
    from local_stack.aws.moto_patches import moto_app
    from local_stack.processes.wsgi_server import serve

    return serve(moto_app(), host=host, port=0, name="s3")


if __name__ == "__main__":
    sys.exit(serve_until_stopped(lambda: _start(sys.argv[1])))
