"""The review page's Flask app through Flask's test client, over a stubbed review service: what
the page is given, the verdict path, the too-late answers, and what a request from another site
is refused."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from review.exceptions import ReviewAlreadyEnded, ReviewNotFound, ReviewUsageError
from review.page.app import TOKEN_HEADER, allowed_hosts, create_app, photo_media_type
from review.page.desk import ReviewDesk
from review.page.server import listen
from review.verdicts import PendingReview

PORT = 8765
BASE_URL = f"http://127.0.0.1:{PORT}"
ORIGIN = BASE_URL
PNG = b"\x89PNG\r\n\x1a\n-the-photo"


def pending(review_id: str, key: str = "images/bicycle_s_000035.png") -> PendingReview:
    return PendingReview(
        id=review_id,
        execution_id=f"arn:aws:states:us-east-1:123456789012:execution:sm:{review_id}",
        s3_bucket="photos",
        s3_key=key,
        label="bicycle",
        confidence=0.6123,
        inferences=[0.6123, 0.3877],
        task_token=f"token-of-{review_id}",
        receipt_handle=f"handle-of-{review_id}",
    )


class StubReviews:
    """The queue as a list: ``pending(1)`` claims the first unclaimed one, as SQS's visibility
    timeout does; ``decide`` records the verdict, or raises what it was told to."""

    def __init__(self, *reviews: PendingReview) -> None:
        self.queue = list(reviews)
        self.claimed: set[str] = set()
        self.decided: list[tuple[str, str]] = []
        self.released: list[str] = []
        self.decide_raises: Exception | None = None

    def pending(self, limit: int = 100) -> list[PendingReview]:
        free = [r for r in self.queue if r.id not in self.claimed][:limit]
        self.claimed.update(r.id for r in free)
        return free

    def decide(self, review_id: str, verdict: str) -> dict:
        if self.decide_raises is not None:
            raise self.decide_raises
        self.decided.append((review_id, verdict))
        self.queue = [r for r in self.queue if r.id != review_id]
        return {"id": review_id, "verdict": verdict, "model_label": "bicycle", "reviewed_object": None}

    def release(self, review_id: str) -> None:
        self.released.append(review_id)
        self.claimed.discard(review_id)

    def photo(self, review: PendingReview) -> tuple[bytes, str]:
        return PNG, "binary/octet-stream"


@pytest.fixture
def stub():
    return StubReviews(pending("unsure-1"), pending("unsure-2"))


@pytest.fixture
def client(stub):
    app = create_app(ReviewDesk(stub), "the-token", allowed_hosts(PORT))
    return app.test_client()


def post(client, path: str, body: dict | None = None, token: str | None = "the-token", **headers):
    if token is not None:
        headers[TOKEN_HEADER] = token
    return client.post(path, json=body or {}, base_url=BASE_URL, headers={"Origin": ORIGIN, **headers})


def test_the_page_carries_its_token_three_verdict_buttons_and_refuses_framing(client):
    answer = client.get("/", base_url=BASE_URL)

    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert re.search(r'<meta name="csrf-token" content="the-token">', html)
    assert [m for m in re.findall(r'data-verdict="(\w+)"', html)] == ["bicycle", "motorcycle", "neither"]
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert client.get("/static/review.js", base_url=BASE_URL).status_code == 200


def test_next_shows_the_models_answer_and_never_the_token_or_receipt_handle(client):
    answer = post(client, "/api/next")

    assert answer.status_code == 200
    review = answer.get_json()["review"]
    assert review == {
        "id": "unsure-1",
        "label": "bicycle",
        "confidence": 0.6123,
        "confidence_text": "61.2 %",
        "probabilities": {"bicycle": 0.6123, "motorcycle": 0.3877},
        "s3_uri": "s3://photos/images/bicycle_s_000035.png",
        "photo_url": "/photo/unsure-1",
    }
    assert "token-of" not in answer.get_data(as_text=True)
    assert "handle-of" not in answer.get_data(as_text=True)


def test_two_tabs_get_two_photos_then_nothing_is_pending(client):
    assert post(client, "/api/next").get_json()["review"]["id"] == "unsure-1"
    assert post(client, "/api/next").get_json()["review"]["id"] == "unsure-2"
    assert post(client, "/api/next").get_json() == {"review": None}


def test_the_photo_of_a_held_review_is_served_as_an_image_and_no_other(client):
    post(client, "/api/next")

    photo = client.get("/photo/unsure-1", base_url=BASE_URL)
    assert (photo.status_code, photo.data, photo.mimetype) == (200, PNG, "image/png")
    assert "sandbox" in photo.headers["Content-Security-Policy"]
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/photo/unsure-2", base_url=BASE_URL).status_code == 404


def test_a_verdict_goes_to_the_review_service_and_the_next_photo_follows(client, stub):
    post(client, "/api/next")

    answer = post(client, "/api/decide", {"id": "unsure-1", "verdict": "bicycle"})

    assert answer.status_code == 200
    assert answer.get_json()["verdict"] == "bicycle"
    assert stub.decided == [("unsure-1", "bicycle")]
    assert post(client, "/api/next").get_json()["review"]["id"] == "unsure-2"
    # decided: its photo is no longer this page's
    assert client.get("/photo/unsure-1", base_url=BASE_URL).status_code == 404


def test_a_verdict_on_a_review_that_ended_is_a_too_late_message(client, stub):
    post(client, "/api/next")
    stub.decide_raises = ReviewAlreadyEnded("review unsure-1 already ended (InvalidToken): ...")

    answer = post(client, "/api/decide", {"id": "unsure-1", "verdict": "motorcycle"})

    assert answer.status_code == 409
    assert answer.get_json() == {
        "kind": "too_late",
        "message": "review unsure-1 already ended (InvalidToken): ...",
    }
    # a second press on the same photo: it is gone from the page, still a clear message
    again = post(client, "/api/decide", {"id": "unsure-1", "verdict": "motorcycle"})
    assert (again.status_code, again.get_json()["kind"]) == (409, "too_late")
    assert "not on this page" in again.get_json()["message"]


def test_a_verdict_on_a_review_this_page_never_claimed_is_refused_without_asking_the_service(client, stub):
    answer = post(client, "/api/decide", {"id": "unsure-2", "verdict": "bicycle"})

    assert (answer.status_code, answer.get_json()["kind"]) == (409, "too_late")
    assert stub.decided == []


def test_an_aws_failure_keeps_the_photo_so_the_verdict_can_be_sent_again(client, stub):
    post(client, "/api/next")
    stub.decide_raises = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "SendTaskSuccess"
    )

    answer = post(client, "/api/decide", {"id": "unsure-1", "verdict": "bicycle"})
    assert (answer.status_code, answer.get_json()["kind"]) == (502, "aws")

    stub.decide_raises = None
    assert post(client, "/api/decide", {"id": "unsure-1", "verdict": "bicycle"}).status_code == 200


def test_an_unknown_verdict_is_a_usage_error(client, stub):
    post(client, "/api/next")

    answer = post(client, "/api/decide", {"id": "unsure-1", "verdict": "scooter"})

    assert (answer.status_code, answer.get_json()["kind"]) == (400, "usage")
    assert stub.decided == []


def test_a_closed_tab_hands_its_photo_back(client, stub):
    post(client, "/api/next")

    assert post(client, "/api/release", {"id": "unsure-1"}).status_code == 200

    assert stub.released == ["unsure-1"]
    assert post(client, "/api/next").get_json()["review"]["id"] == "unsure-1"


@pytest.mark.parametrize(
    ("token", "headers"),
    [
        (None, {}),  # a form or fetch from another site cannot read the token
        ("a-guess", {}),
        ("the-token", {"Origin": "https://evil.example"}),
    ],
    ids=["no-token", "wrong-token", "other-origin"],
)
def test_a_post_without_the_pages_token_or_from_another_origin_is_refused(client, stub, token, headers):
    post(client, "/api/next")

    answer = post(client, "/api/decide", {"id": "unsure-1", "verdict": "bicycle"}, token=token, **headers)

    assert answer.status_code == 403
    assert stub.decided == []


def test_a_request_naming_another_host_is_refused_dns_rebinding():
    app = create_app(ReviewDesk(StubReviews()), "the-token", allowed_hosts(PORT))

    answer = app.test_client().get("/", base_url=f"http://rebound.example:{PORT}")

    assert answer.status_code == 403
    assert "the-token" not in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    ("key", "media_type"),
    [
        ("a/b.png", "image/png"),
        ("a/b.JPG", "image/jpeg"),
        ("a/b.webp", "image/webp"),
        ("a/b.svg", "application/octet-stream"),
        ("a/b.html", "application/octet-stream"),
        ("a/b", "application/octet-stream"),
    ],
)
def test_photos_are_served_only_as_image_types_a_browser_cannot_script(key, media_type):
    assert photo_media_type(key) == media_type


def test_a_claim_about_to_lapse_is_left_to_lapse_not_released():
    # SQS takes a stale receipt handle: releasing with it could free another reviewer's claim
    now = [0.0]
    stub = StubReviews(pending("unsure-1"))
    desk = ReviewDesk(stub, clock=lambda: now[0])
    desk.next_review()

    now[0] = 295.0
    desk.release("unsure-1")

    assert stub.released == []
    with pytest.raises(ReviewNotFound):
        desk.held("unsure-1")


@pytest.mark.parametrize("port", [-1, 65536])
def test_serve_refuses_a_port_out_of_range_as_a_usage_error(port):
    with pytest.raises(ReviewUsageError, match=f"--port {port}: must be 0 to 65535"):
        listen(port)
