// The review page: one claimed photo at a time; a verdict (button or b / m / n) goes to the
// server, which sends it as `python -m review decide` does, then the next photo comes.
"use strict";

const TOKEN = document.querySelector('meta[name="csrf-token"]').content;
const TOKEN_HEADER = document.querySelector('meta[name="csrf-header"]').content;
const POLL_MS = 5000; // while nothing is pending
const KEYS = { b: "bicycle", m: "motorcycle", n: "neither" };

const $ = (id) => document.getElementById(id);
let current = null; // the review on the page
let busy = false; // a verdict in flight: a double press must not send a second
let pollTimer = null;

async function post(path, body, options = {}) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", [TOKEN_HEADER]: TOKEN },
    body: JSON.stringify(body),
    ...options,
  });
  const answer = await response
    .json()
    .catch(() => ({ kind: "error", message: `${response.status} ${response.statusText}` }));
  return { ok: response.ok, answer };
}

function say(text, kind = "") {
  $("message").textContent = text;
  $("message").className = kind;
}

function setState(state) {
  document.body.dataset.state = state;
  $("review").hidden = state !== "review";
  $("nothing").hidden = state !== "empty";
}

function setButtonsEnabled(enabled) {
  for (const button of document.querySelectorAll("[data-verdict]")) button.disabled = !enabled;
}

function probabilityItem(label, probability) {
  const item = document.createElement("li");
  const name = document.createElement("span");
  const bar = document.createElement("span");
  const fill = document.createElement("span");
  const value = document.createElement("span");
  name.textContent = label;
  bar.className = "bar";
  fill.style.width = `${(probability * 100).toFixed(1)}%`;
  value.textContent = `${(probability * 100).toFixed(1)} %`;
  bar.append(fill);
  item.append(name, bar, value);
  return item;
}

function show(review) {
  current = review;
  $("review").dataset.reviewId = review.id;
  $("photo").classList.remove("pixelated");
  delete $("photo").dataset.loaded;
  $("photo").src = review.photo_url;
  $("review-id").textContent = review.id;
  $("s3-uri").textContent = review.s3_uri;
  $("model-label").textContent = review.label;
  $("confidence").textContent = review.confidence_text;
  $("probabilities").replaceChildren(
    ...Object.entries(review.probabilities).map(([label, p]) => probabilityItem(label, p)),
  );
  setState("review");
}

async function loadNext() {
  clearTimeout(pollTimer);
  current = null;
  try {
    const { ok, answer } = await post("/api/next", {});
    if (!ok) throw new Error(answer.message);
    if (answer.review) return show(answer.review);
    setState("empty");
  } catch (error) {
    setState("error");
    say(`No photo could be fetched: ${error.message}`, "failed");
  }
  pollTimer = setTimeout(loadNext, POLL_MS);
}

async function decide(verdict) {
  if (busy || !current) return;
  busy = true;
  setButtonsEnabled(false);
  const review = current;
  try {
    const { ok, answer } = await post("/api/decide", { id: review.id, verdict });
    if (ok) {
      say(`Saved: ${review.id} is ${verdict === "neither" ? "neither" : `a ${verdict}`}.`, "done");
    } else if (answer.kind === "too_late") {
      say(`Too late for ${review.id}: ${answer.message}`, "late");
    } else {
      say(`${answer.message} — the photo stays: try again.`, "failed");
      return;
    }
    await loadNext();
  } catch (error) {
    say(`The server did not answer (${error.message}): is \`python -m review serve\` running?`, "failed");
  } finally {
    busy = false;
    setButtonsEnabled(true);
  }
}

$("photo").addEventListener("load", (event) => {
  // pixelated only when scaled up (the 32x32 samples); a large photo scaled down stays smooth
  const photo = event.target;
  photo.classList.toggle("pixelated", photo.naturalWidth < photo.clientWidth);
  photo.dataset.loaded = "true"; // shown as it will stay: what a test waits for
});

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  const verdict = KEYS[event.key.toLowerCase()];
  if (verdict) {
    event.preventDefault();
    decide(verdict);
  }
});

for (const button of document.querySelectorAll("[data-verdict]")) {
  button.addEventListener("click", () => decide(button.dataset.verdict));
}

// a closed or reloaded tab hands its photo back to the queue now, not when its claim lapses
window.addEventListener("pagehide", () => {
  if (current) post("/api/release", { id: current.id }, { keepalive: true }).catch(() => {});
});

loadNext();
