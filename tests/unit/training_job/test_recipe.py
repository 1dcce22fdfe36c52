"""The training recipe against the image-classification algorithm's documented limits
(https://docs.aws.amazon.com/sagemaker/latest/dg/IC-Hyperparameter.html), so that no later edit
brings back a recipe the documentation rules out (issue 18: pretrained at 3x32x32, no resize)."""

import pytest

from training_job import training
from training_job.exceptions import RecipeError, UsageError
from training_job.recipe import (
    PRETRAINED_DEPTHS,
    SMALL_IMAGE_DEPTHS,
    check_recipe,
    recipe_problems,
)

IMAGE = training.IMAGE_CONTENT_TYPE


def config(**overrides):
    values = {"bucket": "b", "role_arn": "r", "num_training_samples": 800, "job_name": "j"}
    return training.TrainingConfig(**(values | overrides))


def test_the_documented_sets_are_the_ones_the_page_lists():
    assert sorted(PRETRAINED_DEPTHS) == [18, 34, 50, 101, 152, 200]
    assert sorted(SMALL_IMAGE_DEPTHS) == [20, 32, 44, 56, 110]


@pytest.mark.parametrize("layers", sorted(PRETRAINED_DEPTHS))
def test_every_recipe_train_sends_for_transfer_learning_is_within_the_limits(layers):
    hyperparameters = training.hyperparameters(config(num_layers=layers))
    assert hyperparameters["use_pretrained_model"] == "1"
    assert hyperparameters["image_shape"] == "3,224,224"
    assert int(hyperparameters["resize"]) >= 224
    assert recipe_problems(hyperparameters, IMAGE) == []


@pytest.mark.parametrize("layers", sorted(SMALL_IMAGE_DEPTHS))
def test_every_recipe_train_sends_from_scratch_is_within_the_limits(layers):
    hyperparameters = training.hyperparameters(config(from_scratch=True, num_layers=layers))
    assert (hyperparameters["use_pretrained_model"], hyperparameters["image_shape"]) == ("0", "3,32,32")
    assert recipe_problems(hyperparameters, IMAGE) == []


def test_the_defaults_are_transfer_learning_with_resnet_18():
    hyperparameters = training.hyperparameters(config())
    assert {key: hyperparameters[key] for key in ("image_shape", "resize", "use_pretrained_model")} == {
        "image_shape": "3,224,224",
        "resize": "224",
        "use_pretrained_model": "1",
    }
    assert hyperparameters["num_layers"] == "18"
    assert training.hyperparameters(config(from_scratch=True))["num_layers"] == "20"


GOOD = {"image_shape": "3,224,224", "use_pretrained_model": "1", "num_layers": "18", "resize": "224"}


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        # the recipe issue 18 found: pretrained at CIFAR's size, no resize
        (
            {"image_shape": "3,32,32", "resize": None},
            "pretrained models take only 224x224 images, image_shape is 3,32,32",
        ),
        ({"image_shape": "3,32,32", "resize": None}, "resize is required with the application/x-image"),
        ({"image_shape": "3,256,256", "resize": "256"}, "pretrained models take only 224x224"),
        ({"num_layers": "20"}, "transfer learning needs num_layers in 18, 34, 50, 101, 152, 200, got 20"),
        ({"num_layers": "152", "resize": None}, "resize is required"),
        ({"resize": "32"}, "resize 32 makes images smaller than image_shape 3,224,224"),
        (
            {"use_pretrained_model": "0", "image_shape": "3,32,32", "num_layers": "18", "resize": "32"},
            "from scratch at 32x32 num_layers must be one of 20, 32, 44, 56, 110, got 18",
        ),
        ({"use_pretrained_model": "0", "num_layers": "21"}, "num_layers must be in 18, 34"),
        ({"use_pretrained_model": "2"}, "use_pretrained_model must be 0 or 1"),
        ({"image_shape": "224,224"}, "image_shape must be 'channels,height,width'"),
        ({"num_layers": "eighteen"}, "num_layers must be a whole number"),
    ],
)
def test_each_documented_limit_is_named_when_broken(changes, problem):
    hyperparameters = {key: value for key, value in (GOOD | changes).items() if value is not None}
    problems = recipe_problems(hyperparameters, IMAGE)
    assert any(problem in line for line in problems), problems


def test_the_algorithm_defaults_count_when_a_hyperparameter_is_absent():
    # use_pretrained_model defaults to 0 and num_layers to 152: from scratch at 224x224 is allowed
    assert recipe_problems({"image_shape": "3,224,224", "resize": "224"}, IMAGE) == []
    # image_shape defaults to 3,224,224, which a pretrained ResNet-50 takes
    assert recipe_problems({"use_pretrained_model": "1", "num_layers": "50", "resize": "256"}, IMAGE) == []


@pytest.mark.parametrize("content_type", ["application/x-image", "image/png", "image/jpeg; q=1"])
def test_resize_is_required_with_every_image_content_type(content_type):
    without = {key: value for key, value in GOOD.items() if key != "resize"}
    assert recipe_problems(without, content_type) == [
        f"resize is required with the {content_type} content type"
    ]


def test_resize_is_optional_with_recordio():
    without = {key: value for key, value in GOOD.items() if key != "resize"}
    assert recipe_problems(without, "application/x-recordio") == []


def test_check_recipe_raises_a_usage_error_with_every_problem_and_the_page():
    with pytest.raises(RecipeError) as raised:
        check_recipe({"image_shape": "3,32,32", "use_pretrained_model": "1", "num_layers": "20"}, IMAGE)
    message = str(raised.value)
    assert isinstance(raised.value, UsageError)
    assert "https://docs.aws.amazon.com/sagemaker/latest/dg/IC-Hyperparameter.html" in message
    assert message.count(";") == 2  # three problems: the size, the depth, the missing resize
    check_recipe(GOOD, IMAGE)
