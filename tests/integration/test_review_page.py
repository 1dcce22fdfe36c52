"""The review page (``python -m review serve``, a process of its own) against ``up`` with
LowConfidenceAction Review and a threshold no answer meets, so every photo waits for a person.

A reviewer in a real browser (the OS's headless Chromium, driven by Selenium through Debian's
chromium-driver) presses ``b`` on the first photo and clicks "neither" on the second; two tabs
and a second server never hold the same photo; a verdict after the review ended is a message;
a POST without the page's token changes nothing. ``REVIEW_PAGE_SCREENSHOT=path`` keeps the
screenshot of the page with a photo pending (by default it goes to the test's tmp_path)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from local_stack.processes import child_process
from local_stack.processes.stack_process import StackProcess, start_stack_process
from local_stack.settings import SAMPLES_DIR, STACK_NAME
from review.dataset import LST_NAME
from review.stack import REVIEWED_PREFIX, review_stack
from scones_core.lst import parse_lst

# a stack of its own: LowConfidenceAction Review
pytestmark = [pytest.mark.integration, pytest.mark.slow]

BUCKET = "scones-review-page"
# photos the shipped model is unsure of even at the default threshold (docs/cloud.md: it refuses them)
PHOTOS = ("bicycle_s_000035.png", "bicycle_s_000043.png")
SERVING = re.compile(r"^# serving the review page on (http://127\.0\.0\.1:\d+/)")
WAIT_SECONDS = 60


def wait_for(predicate: Callable[[], object], what: str, timeout: float = WAIT_SECONDS) -> object:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return value


@contextlib.contextmanager
def review_stack_process(*options: str) -> Iterator[StackProcess]:
    """``up`` where every photo waits for a reviewer, the photos uploaded."""
    review = ["--bucket", BUCKET, "--low-confidence-action", "Review", "--threshold", "0.999"]
    with start_stack_process([*review, "--execution-environments", "2", *options]) as started:
        s3 = started.client("s3")
        for name in PHOTOS:
            s3.put_object(Bucket=BUCKET, Key=f"images/{name}", Body=(SAMPLES_DIR / name).read_bytes())
        yield started


@pytest.fixture(scope="module")
def stack() -> Iterator[StackProcess]:
    with review_stack_process() as started:
        yield started


def queue_url(stack: StackProcess) -> str:
    return review_stack(stack.client("cloudformation"), STACK_NAME).queue_url


def start_unsure(stack: StackProcess, prefix: str, photos: tuple[str, ...] = PHOTOS) -> dict[str, str]:
    """One execution per photo, named ``prefix-N``; returns name -> ARN once every one waits in
    the review queue."""
    sfn, sqs, url = stack.client("stepfunctions"), stack.client("sqs"), queue_url(stack)
    arns = {
        f"{prefix}-{number}": sfn.start_execution(
            stateMachineArn=stack.state_machine_arn,
            name=f"{prefix}-{number}",
            input=json.dumps({"s3_bucket": BUCKET, "s3_key": f"images/{name}"}),
        )["executionArn"]
        for number, name in enumerate(photos)
    }

    def visible() -> bool:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"]) >= len(arns)

    wait_for(visible, f"{len(arns)} reviews in the queue")
    return arns


def ended(stack: StackProcess, arn: str) -> dict:
    sfn = stack.client("stepfunctions")
    return wait_for(
        lambda: (e := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and e, f"{arn} to end"
    )


@contextlib.contextmanager
def serving(stack: StackProcess, state_dir: Path) -> Iterator[str]:
    """``python -m review serve --port 0`` with ``up``'s exports, as a reviewer's shell has them;
    its URL. It must stop cleanly on SIGTERM."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment |= stack.environment | {"REVIEW_STATE_DIR": str(state_dir)}
    # as the reviewer principal: the `reviewer` profile of up's AWS config file (<stack>-Reviewer,
    # ReviewerPolicy alone), the stack's keys dropped (botocore takes them before AWS_PROFILE)
    assert environment.get("AWS_CONFIG_FILE"), "up exports the AWS config file it writes"
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        environment.pop(key, None)
    environment["AWS_PROFILE"] = "reviewer"
    process = child_process.spawn("review", "serve", "--port", "0", env=environment)
    url = child_process.read_until_ready(process, lambda line: (m := SERVING.match(line)) and m.group(1))
    assert url, f"`python -m review serve` exited {process.returncode} before serving"
    try:
        yield url
    finally:
        assert child_process.stop(process, 20, by_signal=True), "serve did not stop on SIGTERM"
    assert process.returncode == 0


class Tab:
    """A browser tab as the page's script behaves: loads the page, reads its token, POSTs JSON."""

    def __init__(self, url: str) -> None:
        self.url = url
        page = urllib.request.urlopen(url, timeout=30).read().decode()
        self.token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)

    def post(self, path: str, body: dict, token: str | None = "") -> tuple[int, dict]:
        headers = {"Content-Type": "application/json", "Origin": self.url.rstrip("/")}
        if token is not None:
            headers["X-CSRF-Token"] = token or self.token
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            body = error.read()
            return error.code, json.loads(
                body
            ) if error.headers.get_content_type() == "application/json" else {}

    def next_id(self) -> str | None:
        status, answer = self.post("api/next", {})
        assert status == 200, answer
        return answer["review"] and answer["review"]["id"]


def reviewed_paths(stack: StackProcess) -> dict[str, int]:
    s3 = stack.client("s3")
    body = s3.get_object(Bucket=BUCKET, Key=REVIEWED_PREFIX + LST_NAME)["Body"].read().decode()
    return {entry.path: entry.label for entry in parse_lst(body)}


def test_two_tabs_and_a_second_server_never_hold_the_same_photo(stack, tmp_path):
    arns = start_unsure(stack, "tabs")
    with serving(stack, tmp_path / "a") as first_server, serving(stack, tmp_path / "b") as second_server:
        tab, other_tab, elsewhere = Tab(first_server), Tab(first_server), Tab(second_server)

        shown = {tab.next_id(), other_tab.next_id()}

        assert shown == set(arns)
        assert elsewhere.next_id() is None  # both claimed by the first server's tabs
        # another site's POST, without the page's token: refused, nothing decided
        assert tab.post("api/decide", {"id": "tabs-0", "verdict": "neither"}, token=None)[0] == 403
        assert tab.post("api/decide", {"id": "tabs-0", "verdict": "neither"}, token="guess")[0] == 403
        assert stack.client("stepfunctions").describe_execution(executionArn=arns["tabs-0"])["status"] == (
            "RUNNING"
        )
        # closing a tab hands its photo back: the other server gets it at once
        assert tab.post("api/release", {"id": "tabs-0"})[0] == 200
        assert elsewhere.next_id() == "tabs-0"
        assert elsewhere.post("api/decide", {"id": "tabs-0", "verdict": "neither"})[0] == 200
        assert other_tab.post("api/decide", {"id": "tabs-1", "verdict": "neither"})[0] == 200

    assert {ended(stack, arn)["error"] for arn in arns.values()} == {"RejectedByReviewer"}


def test_a_verdict_after_the_review_timed_out_is_a_message_not_a_failure(tmp_path):
    # a stack of its own: its reviews time out in seconds, the module's wait for the browser
    with review_stack_process("--review-timeout-seconds", "5") as stack:
        arns = start_unsure(stack, "late", PHOTOS[:1])
        with serving(stack, tmp_path) as url:
            tab = Tab(url)
            assert tab.next_id() == "late-0"
            timed_out = ended(stack, arns["late-0"])
            assert (timed_out["status"], timed_out["error"]) == ("FAILED", "ReviewTimedOut")

            status, answer = tab.post("api/decide", {"id": "late-0", "verdict": "motorcycle"})

            assert (status, answer["kind"]) == (409, "too_late"), answer
            assert "late-0 already ended" in answer["message"]
            assert tab.next_id() is None  # the stale message is gone with it
        # a human label is training data even when the review ended first (as `review decide`)
        assert reviewed_paths(stack) == {"late-0.png": 1}


# --- a real browser --------------------------------------------------------------------------


def missing_browser() -> str | None:
    """Why the browser test cannot run here, or None: it needs selenium (the dev extra) and the
    OS's chromium with its chromium-driver (Playwright's own browser download fails offline)."""
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed: pip install -e '.[dev]'"
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        return "no headless browser: apt-get install chromium chromium-driver"
    return None


def chromium_driver():
    """Selenium's Chrome driver on the OS's chromium, headless."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,820"):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))


@pytest.fixture
def browser():
    driver = chromium_driver()
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def shown_review(browser, other_than: str | None = None) -> str:
    """The id of the review the page shows once its photo has loaded (and it is not ``other_than``)."""

    def ready() -> str | None:
        review_id = browser.execute_script(
            "const photo = document.getElementById('photo');"
            "return document.body.dataset.state === 'review' && photo.dataset.loaded === 'true'"
            "  ? document.getElementById('review').dataset.reviewId : null;"
        )
        return review_id if review_id and review_id != other_than else None

    return wait_for(ready, "the page to show a photo")


@pytest.mark.skipif(missing_browser() is not None, reason=str(missing_browser()))
def test_a_reviewer_presses_b_then_clicks_neither_in_a_real_browser(stack, tmp_path, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    arns = start_unsure(stack, "browser")
    with serving(stack, tmp_path) as url:
        browser.get(url)
        first = shown_review(browser)
        label = browser.find_element(By.ID, "model-label").text
        confidence = browser.find_element(By.ID, "confidence").text
        photo = browser.find_element(By.ID, "photo")
        assert photo.size["width"] >= 256  # a 32x32 photo, big enough to judge
        assert photo.value_of_css_property("image-rendering") == "pixelated"
        screenshot = Path(os.environ.get("REVIEW_PAGE_SCREENSHOT") or tmp_path / "review-page.png")
        assert browser.save_screenshot(str(screenshot))

        ActionChains(browser).send_keys("b").perform()
        second = shown_review(browser, other_than=first)
        browser.find_element(By.ID, "verdict-neither").click()
        wait_for(lambda: browser.execute_script("return document.body.dataset.state") == "empty", "nothing")
        message = browser.find_element(By.ID, "message").text

    assert message == f"Saved: {second} is neither."
    decided = ended(stack, arns[first])
    assert decided["status"] == "SUCCEEDED", decided
    output = json.loads(decided["output"])
    assert (output["label"], output["decided_by"]) == ("bicycle", "reviewer")
    # the page showed the model's own answer
    assert (label, confidence) == (output["model"]["label"], f"{output['model']['confidence'] * 100:.1f} %")
    rejected = ended(stack, arns[second])
    assert (rejected["status"], rejected["error"]) == ("FAILED", "RejectedByReviewer")
    paths = reviewed_paths(stack)
    assert paths[f"{first}.png"] == 0 and f"{second}.png" not in paths
    s3 = stack.client("s3")
    assert s3.head_object(Bucket=BUCKET, Key=f"{REVIEWED_PREFIX}images/{first}.png")["ContentLength"] > 0
