"""What the local `sam deploy` refuses before starting anything: parameter values that break
template.yaml's own constraints, and bucket names that S3 refuses."""

import pytest

from local_stack.aws.deploy import check_bucket_name
from local_stack.aws.template import Template
from local_stack.errors import InvalidBucketName, ParameterValidationError


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load()


@pytest.mark.parametrize(
    "values",
    [
        {"EndpointName": "vehicle-classifier-2026"},
        {"ConfidenceThreshold": "0"},
        {"ConfidenceThreshold": "1"},
        {"ConfidenceThreshold": "0.93"},
        {"ConfidenceThreshold": "9.3e-1"},
        {"ConfidenceThreshold": ".5"},
        {"LogLevel": "DEBUG"},
        {"LogRetentionInDays": "14"},
        {"AlarmEmail": ""},
    ],
)
def test_values_inside_the_constraints_pass(template, values):
    template.check_parameters(values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        # ConstraintDescription, when the template gives one, is what CloudFormation says
        ({"EndpointName": "Vehicle_Classifier"}, "Parameter EndpointName failed to satisfy constraint: 1-63"),
        ({"EndpointName": "-leading-hyphen"}, "failed to satisfy constraint"),
        ({"EndpointName": "a" * 64}, "failed to satisfy constraint"),
        ({"ConfidenceThreshold": "1.01"}, "'ConfidenceThreshold' must be a number not greater than 1"),
        ({"ConfidenceThreshold": "-0.1"}, "'ConfidenceThreshold' must be a number not less than 0"),
        ({"ConfidenceThreshold": "high"}, "'ConfidenceThreshold' must be a number"),
        # float() takes these; CloudFormation does not, and NaN passes every Min/Max test
        ({"ConfidenceThreshold": "nan"}, "'ConfidenceThreshold' must be a number"),
        ({"ConfidenceThreshold": "inf"}, "'ConfidenceThreshold' must be a number"),
        ({"ConfidenceThreshold": " 0.5"}, "'ConfidenceThreshold' must be a number"),
        ({"ConfidenceThreshold": "1_0"}, "'ConfidenceThreshold' must be a number"),
        ({"LogLevel": "TRACE"}, "'LogLevel' must be one of AllowedValues"),
        ({"LogRetentionInDays": "10"}, "'LogRetentionInDays' must be one of AllowedValues"),
        ({"NoSuchParameter": "x"}, "[NoSuchParameter] do not exist in the template"),
    ],
)
def test_values_outside_the_constraints_are_refused_by_name(template, values, message):
    with pytest.raises(ParameterValidationError) as raised:
        template.check_parameters(values)
    assert message in str(raised.value)
    assert raised.value.parameter == next(iter(values))


@pytest.mark.parametrize(
    "bucket", ["abc", "scones-vehicle-images-local", "my.bucket.name", "a" * 63, "1-2-3"]
)
def test_bucket_names_s3_accepts(bucket):
    check_bucket_name(bucket)


@pytest.mark.parametrize(
    ("bucket", "problem"),
    [
        ("ab", "3-63"),
        ("a" * 64, "3-63"),
        ("Scones", "3-63"),
        ("scones_images", "3-63"),
        ("-scones", "3-63"),
        ("scones-", "3-63"),
        ("scones..images", "no two adjacent dots"),
        ("192.168.5.4", "not formatted as an IP address"),
        ("1.2.3.999", "not formatted as an IP address"),
        ("xn--scones", "'xn--' is reserved by S3"),
        ("sthree-scones", "'sthree-' is reserved by S3"),
        ("scones-s3alias", "'-s3alias' is reserved by S3"),
        ("scones--ol-s3", "'--ol-s3' is reserved by S3"),
    ],
)
def test_bucket_names_s3_refuses_are_named(bucket, problem):
    with pytest.raises(InvalidBucketName, match=problem):
        check_bucket_name(bucket)


def test_the_batch_options_set_their_parameters_and_are_refused_by_their_flag(template):
    from local_stack.commands.stack_options import _template_parameters, default_stack_options
    from local_stack.errors import UsageError

    options = default_stack_options(batch_size=20, batch_max_concurrency=8)
    parameters = _template_parameters(options, template)
    assert (parameters["BatchSize"], parameters["BatchMaxConcurrency"]) == ("20", "8")
    assert "BatchSize" not in _template_parameters(default_stack_options(), template)  # the template's
    with pytest.raises(
        UsageError, match=r"--batch-size 21: .*'BatchSize' must be a number not greater than 20"
    ):
        _template_parameters(default_stack_options(batch_size=21), template)
    with pytest.raises(UsageError, match="--batch-max-concurrency 0: "):
        _template_parameters(default_stack_options(batch_max_concurrency=0), template)
