"""SerializeImageData's two settings: template.yaml's parameters and the function's own checks
agree, and a value the function cannot use fails its cold start by name."""

import pytest

from local_stack.errors import ParameterValidationError

# (template parameter, environment variable, the bounds in config.py)
SETTINGS = [
    ("MaxImageSide", "MAX_IMAGE_SIDE", "parse_max_image_side", ("MIN_IMAGE_SIDE", "MAX_IMAGE_SIDE")),
    (
        "MaxUploadBytes",
        "MAX_UPLOAD_BYTES",
        "parse_max_upload_bytes",
        ("MIN_UPLOAD_BYTES", "MAX_UPLOAD_BYTES"),
    ),
]


@pytest.fixture
def config(functions):
    return functions["SerializeImageData"].config


@pytest.mark.parametrize(("parameter", "variable", "parse", "bounds"), SETTINGS)
def test_the_template_and_the_function_accept_the_same_values(
    template, config, parameter, variable, parse, bounds
):
    spec = template.body["Parameters"][parameter]
    low, high = (getattr(config, name) for name in bounds)
    assert (spec["Type"], spec["MinValue"], spec["MaxValue"]) == ("Number", low, high)
    assert getattr(config, parse)(str(spec["Default"])) == spec["Default"]
    function = template.body["Resources"]["SerializeImageDataFunction"]["Properties"]
    assert function["Environment"]["Variables"][variable] == {"Ref": parameter}
    for value in (low, high):  # CloudFormation's checks, as the local deploy runs them
        template.check_parameters({parameter: str(value)})
        assert getattr(config, parse)(str(value)) == value
    for value in (low - 1, high + 1):
        with pytest.raises(ParameterValidationError):
            template.check_parameters({parameter: str(value)})


@pytest.mark.parametrize(("parameter", "variable", "parse", "bounds"), SETTINGS)
@pytest.mark.parametrize("raw", [None, "", "abc", " 256", "256.0", "-1", "0", "1e3", "10" * 20])
def test_a_value_the_function_cannot_use_is_invalid_configuration(
    functions, config, parameter, variable, parse, bounds, raw
):
    with pytest.raises(
        functions["SerializeImageData"].exceptions.InvalidConfiguration, match=f"{variable} must"
    ):
        getattr(config, parse)(raw)


def test_the_defaults_are_what_the_function_runs_with(functions, template):
    app = functions["SerializeImageData"].app
    defaults = template.parameter_defaults()
    assert app.MAX_IMAGE_SIDE == int(defaults["MaxImageSide"]) == 256
    assert app.MAX_UPLOAD_BYTES == int(defaults["MaxUploadBytes"]) == 25 * 1024 * 1024
