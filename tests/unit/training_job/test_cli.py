"""The CLI layer: --help everywhere, one-line errors, and each command end to end offline."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from training_job.cli import build_parser, main

COMMANDS = ["stage", "train", "deploy", "teardown", "train-local", "evaluate"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert f"usage: training-job {command}" in capsys.readouterr().out


def test_top_level_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(command in out for command in COMMANDS)
    assert main([]) == 2


def test_help_imports_neither_boto3_nor_the_sagemaker_sdk():
    code = (
        "import sys\nfrom training_job.cli import main\n"
        "try:\n    main(['deploy', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sagemaker', 'boto3', 'botocore', 'torch'}))"
    )
    repo = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.parametrize(
    "argv",
    [
        ["stage", "--bucket", "b", "--source-url", "file:///nonexistent"],
        ["train", "--bucket", "b", "--role-arn", "arn:aws:iam::123456789012:role/r"],
        [
            "deploy",
            "--model-data",
            "s3://b/m.tar.gz",
            "--endpoint-name",
            "e",
            "--role-arn",
            "arn:aws:iam::1:role/r",
        ],
        ["teardown"],
    ],
    ids=lambda argv: argv[0],
)
def test_without_credentials_one_clear_line(no_credentials, argv, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no AWS credentials found")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_without_region_one_clear_line(monkeypatch, capsys):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    assert main(["teardown"]) == 1
    assert (
        capsys.readouterr().err
        == "error: no AWS region: pass --region or set AWS_REGION (or a region in your AWS profile)\n"
    )


def test_region_comes_from_the_option_then_aws_region_then_the_profile(monkeypatch):
    from scones_core.aws import make_session

    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert make_session().region_name == "eu-west-1"
    assert make_session("ap-south-1").region_name == "ap-south-1"


def test_stage_from_dir_then_rerun(moto_session, cli_uses, bucket, small_image_dir, tmp_path, capsys):
    cli_uses(moto_session)
    argv = [
        "stage",
        "--bucket",
        bucket,
        "--from-dir",
        str(small_image_dir),
        "--work-dir",
        str(tmp_path / "w"),
        "--quiet",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "images: 32 train, 8 validation" in out
    assert "uploaded 42 files, 0 unchanged" in out
    assert f"s3://{bucket}/vehicle-classifier/validation_lst/" in out
    assert main(argv) == 0
    assert "uploaded 0 files, 42 unchanged" in capsys.readouterr().out


def test_stage_errors_are_one_line(moto_session, cli_uses, capsys, tmp_path):
    cli_uses(moto_session)
    assert main(["stage", "--bucket", "missing-bucket", "--work-dir", str(tmp_path), "--quiet"]) == 1
    assert capsys.readouterr().err.startswith("error: cannot use bucket 'missing-bucket'")


def test_train_refuses_max_wait_below_max_run_as_a_usage_error(capsys):
    argv = ["train", "--bucket", "b", "--role-arn", "r", "--spot", "--max-run", "600", "--max-wait", "60"]
    assert main(argv) == 2
    assert "--max-wait (60) must be >= --max-run (600)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["no-such-command"],
        ["stage"],
        ["teardown", "--no-such-option"],
        ["train", "--bucket", "b", "--role-arn", "r", "--epochs", "many"],
        ["deploy", "--model-data", "model.tar.gz", "--endpoint-name", "e", "--role-arn", "r"],
    ],
)
def test_usage_errors_exit_2(argv):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2


def test_an_interrupt_exits_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("training_job.commands.teardown.run", interrupted)
    assert main(["teardown"]) == 130
    assert capsys.readouterr().err.startswith("error: interrupted")


def test_model_data_must_be_an_s3_uri(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(
            ["deploy", "--model-data", "model.tar.gz", "--endpoint-name", "e", "--role-arn", "r"]
        )
    assert "not an S3 URI" in capsys.readouterr().err


def test_sampling_percentage_is_bounded():
    with pytest.raises(SystemExit):
        build_parser().parse_args(
            [
                "deploy",
                "--model-data",
                "s3://b/m",
                "--endpoint-name",
                "e",
                "--role-arn",
                "r",
                "--sampling-percentage",
                "101",
            ]
        )
