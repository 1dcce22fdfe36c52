"""The review page as a Flask app: ``GET /`` the page, ``GET /photo/<id>`` a held review's photo
(read from S3 by this server: the browser needs no AWS credentials), and three JSON POSTs the
page makes, ``/api/next``, ``/api/decide`` and ``/api/release``.

A page on 127.0.0.1 can still be reached by any other site open in the same browser, so every
POST must carry the token this server put in the page (another origin cannot read the page), any
request must name this server in ``Host`` (a DNS-rebinding site names its own) and a POST's
``Origin``, when the browser sends one, must be this server; the page may not be framed."""

from __future__ import annotations

import hmac
import mimetypes
import posixpath

from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, Response, abort, jsonify, render_template, request

from review.exceptions import (
    ReviewAlreadyEnded,
    ReviewError,
    ReviewNotFound,
    ReviewUsageError,
    VerdictAlreadyGiven,
)
from review.page.desk import ReviewDesk
from review.verdicts import LABELS, VERDICTS, PendingReview

TOKEN_HEADER = "X-CSRF-Token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
PAGE_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# a photo is whatever bytes were uploaded: never let the browser run them as a page
PHOTO_SECURITY_HEADERS = {"Content-Security-Policy": "default-src 'none'; sandbox"}
# image types a browser shows and cannot script (SVG can)
PHOTO_MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif")


def allowed_hosts(port: int) -> frozenset[str]:
    """The ``Host`` values a browser sends to this server."""
    return frozenset(f"{name}:{port}" for name in LOOPBACK_NAMES)


def is_own_origin(origin: str | None, hosts: frozenset[str]) -> bool:
    """True when a request's ``Origin`` is absent (same-origin GETs) or this server's."""
    return origin is None or origin.removeprefix("http://") in hosts


def token_matches(sent: str | None, token: str) -> bool:
    return sent is not None and hmac.compare_digest(sent.encode(), token.encode())


def photo_media_type(key: str) -> str:
    """The media type to serve a photo with, from its key; not S3's Content-Type, which an
    uploader chooses (and moto answers ``binary/octet-stream`` when none was given)."""
    guessed = mimetypes.guess_type(posixpath.basename(key))[0]
    return guessed if guessed in PHOTO_MEDIA_TYPES else "application/octet-stream"


def confidence_text(confidence: float) -> str:
    return f"{confidence * 100:.1f} %"


def review_view(review: PendingReview) -> dict:
    """What the page shows of a review: never its task token or receipt handle."""
    return {
        "id": review.id,
        "label": review.label,
        "confidence": review.confidence,
        "confidence_text": confidence_text(review.confidence),
        "probabilities": dict(zip(LABELS, review.inferences, strict=False)),
        "s3_uri": review.s3_uri,
        "photo_url": f"/photo/{review.id}",
    }


def error_answer(error: Exception) -> tuple[Response, int]:
    """A failure as the page shows it: ``kind`` tells the page what to do next."""
    if isinstance(error, ReviewUsageError):
        return jsonify(kind="usage", message=str(error)), 400
    if isinstance(error, ReviewAlreadyEnded | ReviewNotFound | VerdictAlreadyGiven):
        return jsonify(kind="too_late", message=str(error)), 409
    if isinstance(error, BotoCoreError | ClientError):
        return jsonify(kind="aws", message=f"AWS refused: {error}"), 502
    return jsonify(kind="error", message=str(error)), 500


def create_app(desk: ReviewDesk, token: str, hosts: frozenset[str]) -> Flask:
    app = Flask(__name__)
    app.json.sort_keys = False

    @app.before_request
    def refuse_other_sites() -> None:
        if request.host not in hosts:
            abort(403, description="unknown Host: open the page at the address `serve` printed")
        if request.method == "POST" and not (
            is_own_origin(request.headers.get("Origin"), hosts)
            and token_matches(request.headers.get(TOKEN_HEADER), token)
        ):
            abort(403, description="no valid token: reload the page")

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in PAGE_SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(ReviewError)
    @app.errorhandler(BotoCoreError)
    @app.errorhandler(ClientError)
    def review_failed(error: Exception) -> tuple[Response, int]:
        return error_answer(error)

    @app.get("/")
    def page() -> str:
        return render_template("review.html", token=token, token_header=TOKEN_HEADER, verdicts=VERDICTS)

    @app.post("/api/next")
    def next_review() -> Response:
        review = desk.next_review()
        return jsonify(review=review_view(review) if review else None)

    @app.post("/api/decide")
    def decide() -> Response:
        body = request.get_json(silent=True) or {}
        review_id, verdict = str(body.get("id", "")), str(body.get("verdict", ""))
        return jsonify(desk.decide(review_id, verdict))

    @app.post("/api/release")
    def release() -> Response:
        desk.release(str((request.get_json(silent=True) or {}).get("id", "")))
        return jsonify(released=True)

    @app.get("/photo/<review_id>")
    def photo(review_id: str) -> Response:
        try:
            review = desk.held(review_id)
        except ReviewNotFound:
            abort(404)
        response = Response(desk.photo(review_id), mimetype=photo_media_type(review.s3_key))
        response.headers.update(PHOTO_SECURITY_HEADERS)
        response.headers["Cache-Control"] = "private, max-age=300"
        return response

    return app
