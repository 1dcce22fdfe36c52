"""The built-in image-classification algorithm's documented limits, as one pure check.

`recipe_problems` reads the hyperparameters and the channels' content type and names every
combination the algorithm's documentation rules out; `check_recipe` raises `RecipeError` with
them. `training.training_job_request` calls it before any CreateTrainingJob, and
tests/unit/training_job/test_recipe.py holds it to the documentation, so a later edit cannot
bring back a recipe AWS says will not work.

What the documentation says, and where
(https://docs.aws.amazon.com/sagemaker/latest/dg/IC-Hyperparameter.html):

- ``image_shape``: "Pretrained models can only use a fixed height x width image size of
  224 x 224."
- ``num_layers``: "For transfer learning, the number of layers defines the architecture of base
  network and hence can only be selected from the set [18, 34, 50, 101, 152, 200]." For small
  images ("28x28 - like CIFAR") the page suggests [20, 32, 44, 56, 110]; valid values are the
  two sets.
- ``resize``: "The number of pixels in the shortest side of an image after resizing it for
  training ... **Required** when using image content types, Optional when using the RecordIO
  content type."

And one the AWS example notebook states for ``image_shape`` with image (.lst) channels: "It
should be no larger than the actual image size", i.e. no larger than ``resize`` once the
algorithm has resized the shortest side
(https://github.com/aws/amazon-sagemaker-examples/blob/main/introduction_to_amazon_algorithms/imageclassification_caltech/Image-classification-lst-format.ipynb).
"""

from __future__ import annotations

from collections.abc import Mapping

from training_job.exceptions import RecipeError

#: Depths of the ImageNet-pretrained ResNets (transfer learning), and of any network trained
#: on large images.
PRETRAINED_DEPTHS = frozenset({18, 34, 50, 101, 152, 200})
#: Depths the page suggests for small images (CIFAR-sized) trained from scratch.
SMALL_IMAGE_DEPTHS = frozenset({20, 32, 44, 56, 110})
#: The only input size the pretrained networks take.
PRETRAINED_SIDE = 224
#: "Small image size (for example, 28x28 - like CIFAR)": the CIFAR set applies up to this side.
SMALL_IMAGE_MAX_SIDE = 32
#: The image content types of the algorithm's file-mode channels (its Input/Output Interface,
#: https://docs.aws.amazon.com/sagemaker/latest/dg/image-classification.html#IC-inputoutput).
IMAGE_CONTENT_TYPES = frozenset({"application/x-image", "image/png", "image/jpeg"})


def recipe_problems(hyperparameters: Mapping[str, object], content_type: str) -> list[str]:
    """Every documented limit these hyperparameters break, one sentence each ([] when none)."""
    problems: list[str] = []
    shape = _image_shape(hyperparameters.get("image_shape", "3,224,224"), problems)
    layers = _whole(hyperparameters, "num_layers", 152, problems)
    pretrained = _whole(hyperparameters, "use_pretrained_model", 0, problems)
    resize = _whole(hyperparameters, "resize", None, problems)
    if pretrained not in (None, 0, 1):
        problems.append(f"use_pretrained_model must be 0 or 1, got {pretrained}")
    if pretrained == 1:
        if shape and shape[1:] != (PRETRAINED_SIDE, PRETRAINED_SIDE):
            problems.append(
                f"pretrained models take only {PRETRAINED_SIDE}x{PRETRAINED_SIDE} images, "
                f"image_shape is {_shape_text(shape)}"
            )
        if layers is not None and layers not in PRETRAINED_DEPTHS:
            problems.append(
                f"transfer learning needs num_layers in {_sorted(PRETRAINED_DEPTHS)}, got {layers}"
            )
    elif layers is not None and shape and max(shape[1:]) <= SMALL_IMAGE_MAX_SIDE:
        if layers not in SMALL_IMAGE_DEPTHS:
            problems.append(
                f"from scratch at {shape[1]}x{shape[2]} num_layers must be one of "
                f"{_sorted(SMALL_IMAGE_DEPTHS)}, got {layers}"
            )
    elif layers is not None and layers not in PRETRAINED_DEPTHS | SMALL_IMAGE_DEPTHS:
        problems.append(
            f"num_layers must be in {_sorted(PRETRAINED_DEPTHS)} or {_sorted(SMALL_IMAGE_DEPTHS)}, "
            f"got {layers}"
        )
    if content_type.split(";")[0].strip().lower() in IMAGE_CONTENT_TYPES:
        if resize is None and "resize" not in hyperparameters:
            problems.append(f"resize is required with the {content_type} content type")
        elif resize is not None and shape and resize < max(shape[1:]):
            problems.append(
                f"resize {resize} makes images smaller than image_shape {_shape_text(shape)}: "
                f"the shortest side must be at least {max(shape[1:])}"
            )
    return problems


def check_recipe(hyperparameters: Mapping[str, object], content_type: str) -> None:
    """Raise `RecipeError` naming every documented limit broken; return quietly otherwise."""
    problems = recipe_problems(hyperparameters, content_type)
    if problems:
        raise RecipeError(
            "the training recipe breaks the image-classification algorithm's documented limits "
            "(https://docs.aws.amazon.com/sagemaker/latest/dg/IC-Hyperparameter.html): " + "; ".join(problems)
        )


def _image_shape(value: object, problems: list[str]) -> tuple[int, int, int] | None:
    parts = str(value).replace(" ", "").split(",")
    if len(parts) != 3 or not all(part.isdigit() and int(part) > 0 for part in parts):
        problems.append(f"image_shape must be 'channels,height,width' in positive integers, got {value!r}")
        return None
    channels, height, width = (int(part) for part in parts)
    return channels, height, width


def _whole(hyperparameters: Mapping[str, object], name: str, default: int | None, problems: list[str]):
    """The hyperparameter as an int (the API takes strings), its default when absent."""
    if name not in hyperparameters:
        return default
    text = str(hyperparameters[name]).strip()
    if not text.isdigit():
        problems.append(f"{name} must be a whole number, got {hyperparameters[name]!r}")
        return None
    return int(text)


def _shape_text(shape: tuple[int, int, int]) -> str:
    return ",".join(str(side) for side in shape)


def _sorted(values: frozenset[int]) -> str:
    return ", ".join(str(value) for value in sorted(values))
