"""`sam build` with no Docker: functions/Makefile installs each function's Lambda (arm64, 3.13) wheels."""

import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local_stack.aws.template import make_resolver
from tests.conftest import REPO_ROOT, tool

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FUNCTIONS = ("SerializeImageDataFunction", "ClassifyImageFunction", "FilterInferencesFunction")
MAX_FUNCTION_BYTES = 10 * 1024 * 1024
# what an aarch64 manylinux2014 wheel may link outside itself (auditwheel's policy; libz.so.1 is
# in the Lambda runtime, whose Python links it too)
SYSTEM_LIBRARIES = {
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "librt.so.1",
    "libpthread.so.0",
    "libz.so.1",
    "libstdc++.so.6",
    "libgcc_s.so.1",
    "ld-linux-aarch64.so.1",
}
# a sample of the normalisation for each format, run with the build's Pillow
NORMALISE_EACH_FORMAT = """
import io
import normalise
from PIL import Image
for image_format in ("JPEG", "PNG", "WEBP", "GIF"):
    out = io.BytesIO()
    Image.new("RGB", (600, 400), (200, 30, 30)).save(out, image_format)
    sent = normalise.normalise_image(out.getvalue(), name=image_format, max_side=256)
    assert sent.size == (256, 171) and sent.content_type == "image/jpeg", (image_format, sent)
"""


def python313() -> str:
    """The Python 3.13 `make` hands `sam build` (PYTHON313), else one found as the Makefile finds it;
    '' where there is none (the build then ships no bytecode)."""
    candidates = [
        os.environ.get("PYTHON313"),
        shutil.which("python3.13"),
        *map(str, sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"))),
    ]
    for candidate in filter(None, candidates):
        version = subprocess.run(
            [candidate, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 13))"], capture_output=True
        )
        if version.returncode == 0:
            return candidate
    return ""


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("sam") / "build"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PYTHON": sys.executable, "PYTHON313": python313()}
    result = subprocess.run(
        [tool("sam"), "build", "--build-dir", str(build), "--region", "us-east-1"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return build


@pytest.fixture(scope="module")
def host_pillow(build_dir, tmp_path_factory) -> Path | None:
    """The build's Pillow, made importable on this host: the aarch64 extension modules cannot
    load on another machine, so the same pinned version's, for this host, take their place,
    beside the build's Python files (what the Makefile kept). None on an aarch64 host."""
    if platform.machine() in ("aarch64", "arm64"):
        return None
    requirements = (REPO_ROOT / "functions" / "serialize_image_data" / "requirements.txt").read_text()
    pinned = re.search(r"^pillow==(\S+)$", requirements, re.MULTILINE).group(1)
    target = tmp_path_factory.mktemp("host-pillow")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    subprocess.run([*pip, "--only-binary=:all:", "--target", str(target), f"pillow=={pinned}"], check=True)
    built = build_dir / "SerializeImageDataFunction" / "PIL"
    for module in (target / "PIL").iterdir():
        if module.suffix == ".py":
            module.unlink()  # the build's come in its place
        elif module.suffix == ".so" and not list(built.glob(module.name.split(".")[0] + ".*")):
            module.unlink()  # an extension module the Makefile prunes
    for module in built.glob("*.py"):
        shutil.copy(module, target / "PIL")
    return target


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_builds_under_10_mb_without_host_bytecode(build_dir, function):
    files = [p for p in (build_dir / function).rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < MAX_FUNCTION_BYTES
    assert (build_dir / function / "app.py").is_file()
    assert (build_dir / function / "aws_lambda_powertools").is_dir()
    assert all(".cpython-313." in p.name for p in files if p.suffix == ".pyc"), (
        "bytecode of another Python than the runtime's 3.13 is useless there"
    )
    assert not (build_dir / function / "boto3").exists(), "boto3 comes with the Lambda runtime"
    assert not (build_dir / function / "aws_xray_sdk").exists(), "no tracing SDK (Tracing: Active)"
    assert not (build_dir / function / "wrapt").exists(), "only the X-Ray SDK needed wrapt"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_ships_the_runtimes_bytecode_for_every_module(build_dir, function):
    # Lambda cannot write bytecode into /var/task: without it, each cold start compiles from source
    if not python313():
        pytest.skip("no Python 3.13 on this machine: the build ships its modules without bytecode")
    for module in (build_dir / function).rglob("*.py"):
        (bytecode,) = module.parent.glob(f"__pycache__/{module.stem}.cpython-313.pyc")
        # PEP 552 flags: hash-based (1) and checked against the source (2), not a timestamp
        assert int.from_bytes(bytecode.read_bytes()[4:8], "little") == 3, bytecode


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_built_function_imports_with_only_the_runtimes_boto3(build_dir, host_pillow, template, function):
    # The build holds aarch64 wheels; wrapt falls back to pure Python on this host, which is
    # enough to prove that nothing the handler imports was pruned away. Pillow has no pure
    # Python fallback: its modules come from host_pillow, and decode a sample of each format.
    boto3_home = Path(__import__("boto3").__file__).parent.parent
    path = [str(build_dir / function), str(boto3_home)]
    script = "import app"
    if function == "SerializeImageDataFunction":
        script += "\n" + NORMALISE_EACH_FORMAT
        if host_pillow:
            path.insert(0, str(host_pillow))
    resolve = make_resolver({**template.parameter_defaults(), "EndpointName": "e"}, {}, {})
    env = {**os.environ, **template.function_environment(function, resolve)}
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-B",
            "-c",
            f"import sys; sys.path[:0] = sys.argv[1].split(':')\n{script}",
            ":".join(path),
        ],
        cwd=build_dir / function,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_the_pillow_kept_in_the_build_links_only_what_the_build_or_lambda_has(build_dir):
    readelf = shutil.which("readelf") or shutil.which("llvm-readelf")
    if not readelf:
        pytest.skip("needs readelf (binutils) to read the aarch64 modules' dynamic sections")
    function = build_dir / "SerializeImageDataFunction"
    bundled = {library.name for library in (function / "pillow.libs").iterdir()}
    modules = {module.name.split(".")[0] for module in (function / "PIL").glob("*.so")}
    assert {"_imaging", "_webp"} <= modules, "PNG, JPEG and GIF need _imaging; WebP needs _webp"
    for binary in [*(function / "PIL").glob("*.so"), *(function / "pillow.libs").iterdir()]:
        dynamic = subprocess.run([readelf, "-d", str(binary)], capture_output=True, text=True, check=True)
        needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dynamic.stdout))
        assert needed <= bundled | SYSTEM_LIBRARIES, (binary.name, needed - bundled - SYSTEM_LIBRARIES)
