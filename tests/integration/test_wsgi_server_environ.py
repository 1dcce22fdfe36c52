"""``scones_core.wsgi_server`` gives an app the environ werkzeug's server would: ``RAW_URI`` is
the request target as the client sent it, byte for byte, so that moto decodes a key once."""

from __future__ import annotations

import http.client
import json

import pytest

from scones_core.wsgi_server import serve

pytestmark = pytest.mark.integration


def echo(environ, start_response):
    body = json.dumps({name: environ.get(name) for name in ("RAW_URI", "REQUEST_URI", "PATH_INFO")})
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]


@pytest.mark.parametrize(
    "target",
    [
        "/bucket/incoming/q%3Fmark%23hash.png",
        "/bucket/incoming/rv%2520x.png",
        "/bucket/incoming/a%252Fb.png",
        "/bucket/incoming/a%2Fb.png",
        "/bucket/new%0Aline?x-id=PutObject",
        "/bucket/caf%C3%A9.png",
        "/bucket//double",
        "/bucket/a%20b?list-type=2&prefix=a%2520",
    ],
)
def test_raw_uri_is_the_target_as_sent(target):
    with serve(echo) as server:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
        try:
            connection.request("GET", target)
            answer = connection.getresponse()
            environ = json.loads(answer.read())
        finally:
            connection.close()
    assert answer.status == 200
    assert environ["RAW_URI"] == target
    assert environ["REQUEST_URI"] == target
