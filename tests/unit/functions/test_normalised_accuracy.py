"""What normalising costs the model: the local model on the 200 validation images it never
trained on, as the 32x32 PNGs they are, and as phone-sized photos of them (upscaled to 1024 px,
JPEG quality 85) after SerializeImageData's normalisation. Needs ../shared; about 5 s.

    python -m pytest tests/unit/functions/test_normalised_accuracy.py -s   # prints the figures
"""

import io

import numpy as np
import pytest
from PIL import Image

from scones_core.lst import read_lst
from scones_core.project import DEFAULT_CONFIDENCE_THRESHOLD
from tests.conftest import REPO_ROOT, SHARED_DATA_DIR
from training_job.local_model.inference import load_session, predict_probabilities
from training_job.local_model.metrics import selective_scores
from training_job.local_model.preprocess import decode_image

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SHARED_DATA_DIR.is_dir(), reason="needs ../shared/data (the CIFAR images)"),
]
VALIDATION_LST = REPO_ROOT / "training_job" / "local_model" / "validation.lst"
MAX_ACCURACY_LOSS = 0.02


def scores(session, images: list[bytes], labels: np.ndarray) -> dict[str, float]:
    probabilities = predict_probabilities(session, np.stack([decode_image(image) for image in images]))
    coverage, selective_accuracy = selective_scores(probabilities, labels, DEFAULT_CONFIDENCE_THRESHOLD)
    accuracy = float((probabilities.argmax(axis=1) == labels).mean())
    return {"accuracy": accuracy, "coverage": coverage, "selective accuracy": selective_accuracy}


def as_phone_photo(png: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").resize((1024, 1024), Image.Resampling.BICUBIC).save(
        out, "JPEG", quality=85
    )
    return out.getvalue()


def test_normalised_photos_cost_the_model_at_most_two_points_of_accuracy(functions, template):
    normalise = functions["SerializeImageData"].normalise
    max_side = int(template.parameter_defaults()["MaxImageSide"])
    entries = read_lst(VALIDATION_LST)
    labels = np.array([entry.label for entry in entries])
    originals = [(SHARED_DATA_DIR / "train" / entry.path).read_bytes() for entry in entries]
    photos = [as_phone_photo(png) for png in originals]
    sent = [normalise.normalise_image(photo, name="x", max_side=max_side) for photo in photos]
    session = load_session()

    results = {
        "32x32 PNG (as trained)": scores(session, originals, labels),
        "1024 px JPEG q85, sent as is": scores(session, photos, labels),
        f"1024 px JPEG q85, normalised to {max_side} px": scores(session, [s.data for s in sent], labels),
    }

    print(f"\n{len(entries)} validation images, threshold {DEFAULT_CONFIDENCE_THRESHOLD}")
    for name, figures in results.items():
        print(f"  {name:44}" + "  ".join(f"{key} {value:.3f}" for key, value in figures.items()))
    mean_bytes = np.mean([len(s.data) for s in sent])
    print(f"  sent: {sent[0].content_type} {sent[0].size}, {mean_bytes:.0f} bytes on average")
    original, normalised = results["32x32 PNG (as trained)"], list(results.values())[-1]
    assert normalised["accuracy"] >= original["accuracy"] - MAX_ACCURACY_LOSS
    assert all(s.content_type == "image/jpeg" and max(s.size) == max_side for s in sent)
