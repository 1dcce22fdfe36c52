"""Cold import of each built function, as the Lambda python3.13 runtime does it: `import app` in a
fresh interpreter, the function's folder first on the path and the runtime's own boto3 after it,
timed in the process; beside it `import boto3` alone, the floor any function that calls AWS pays.

    make bench-coldstart                         # sam build, then this
    python bench/coldstart.py --runs 20 --importtime

What it needs, and where it comes from:
- a Python 3.13 (the runtime's: the build holds cp313 wheels and bytecode): `--python`, else
  PYTHON313, else python3.13 on the PATH, else pyenv's;
- the runtime's boto3: AWS bundles a boto3/botocore with the runtime and updates it with the
  runtime, per region, without publishing the version (a function that prints
  `boto3.__version__` tells it). RUNTIME_BOTO3 is the one last reported for python3.13 (2025-08,
  1.38.36); `--boto3` takes another. It is installed once from the package registry, with its
  bytecode as in the runtime, under .tools/coldstart/;
- on a host that is not arm64, the build's aarch64 extension modules (Pillow's) are swapped, in
  a copy, for this host's build of the same versions (also cached there). Everything else is the
  build as built, bytecode included; the runs write none, as Lambda's read-only /var/task.

It prints, for each function, the median wall-clock and CPU time over the fresh processes (runs
interleaved, so that a busy machine slows all alike), their difference over `import boto3` alone,
the target (judged on CPU time: the process's own, which other load on a shared machine barely
moves), whether the function imported boto3, and the function's built size. Lambda's own
bootstrap has already imported a few standard modules (json, logging, ...) when it imports the
handler; here nothing has, so each figure is, if anything, a little high."""

from __future__ import annotations

import argparse
import glob
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_stack.aws.template import Template, make_resolver  # noqa: E402 - needs ROOT on the path

RUNTIME_BOTO3 = "1.38.36"
FUNCTIONS = ("SerializeImageDataFunction", "ClassifyImageFunction", "FilterInferencesFunction")
# ms over `import boto3` alone (issue 16): FilterInferences imports no boto3 at all
TARGET_MS = {"SerializeImageDataFunction": 120, "ClassifyImageFunction": 120, "FilterInferencesFunction": 60}
BOTO3 = "import boto3 alone"
# what the Lambda runtime sets before it imports the handler
RUNTIME_ENVIRONMENT = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
}
TIMED_IMPORT = """
import sys, time
sys.path[:0] = sys.argv[1].split(":")
wall, cpu = time.perf_counter(), time.process_time()
import {module}
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(wall * 1000, cpu * 1000, "boto3" in sys.modules)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    parser.add_argument("--runs", type=int, default=20, help="fresh processes per function (>= 10)")
    parser.add_argument("--python", help="a Python 3.13 (default: python3.13 on the PATH, else pyenv's)")
    parser.add_argument(
        "--boto3", default=RUNTIME_BOTO3, help=f"the runtime's boto3 (default {RUNTIME_BOTO3})"
    )
    parser.add_argument("--cache", type=Path, default=ROOT / ".tools" / "coldstart")
    parser.add_argument("--importtime", action="store_true", help="also what each import spends most on")
    args = parser.parse_args(argv)
    if args.runs < 10:
        parser.error("--runs must be at least 10")
    missing = [f for f in FUNCTIONS if not (args.build_dir / f / "app.py").is_file()]
    if missing:
        parser.error(f"{args.build_dir} holds no build of {', '.join(missing)}: run `make build` first")
    python = find_python(args.python)
    if python is None:
        parser.error("needs a Python 3.13, the runtime's (the build holds cp313 wheels): --python PATH")

    runtime = install_runtime_sdk(python, args.boto3, args.cache)
    with tempfile.TemporaryDirectory(prefix="coldstart-") as scratch:
        functions = {
            f: runnable_copy(args.build_dir / f, Path(scratch) / f, python, args.cache) for f in FUNCTIONS
        }
        environments = function_environments()
        targets = {BOTO3: ("boto3", [str(runtime)], {})} | {
            f: ("app", [str(functions[f]), str(runtime)], environments[f]) for f in FUNCTIONS
        }
        timings: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
        imports_boto3: dict[str, bool] = {}
        for _ in range(args.runs):
            for name, (module, path, environment) in targets.items():
                wall, cpu, boto3_loaded = timed_import(python, module, path, environment, functions.get(name))
                timings[name].append((wall, cpu))
                imports_boto3[name] = imports_boto3.get(name, False) or boto3_loaded
        print_report(args, python, runtime, timings, imports_boto3)
        if args.importtime:
            for name, (module, path, environment) in targets.items():
                print_importtime(name, python, module, path, environment, functions.get(name))
    return 0


def find_python(explicit: str | None) -> str | None:
    candidates = (
        [explicit]
        if explicit
        else [
            os.environ.get("PYTHON313"),
            shutil.which("python3.13"),
            *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")), reverse=True),
            "/usr/bin/python3.13",
            "/usr/local/bin/python3.13",
        ]
    )
    for candidate in filter(None, candidates):
        try:
            version = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except OSError:
            continue
        if version.stdout.strip() == "True":
            return candidate
    return None


def pip_install(python: str, target: Path, *requirements: str, no_deps: bool = False) -> Path:
    """``requirements`` into ``target`` once (a stamp marks a finished install)."""
    if not (target / ".installed").exists():
        shutil.rmtree(target, ignore_errors=True)
        command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        command += ["--only-binary=:all:", "--target", str(target), *(["--no-deps"] if no_deps else [])]
        subprocess.run([*command, *requirements], check=True)
        (target / ".installed").touch()
    return target


def install_runtime_sdk(python: str, version: str, cache: Path) -> Path:
    """boto3 and botocore ``version`` with what they need, compiled as the runtime's are."""
    return pip_install(
        python, cache / f"python3.13-boto3-{version}", f"boto3=={version}", f"botocore=={version}"
    )


def runnable_copy(built: Path, copy: Path, python: str, cache: Path) -> Path:
    """The built function, its extension modules swapped for this host's where it is not arm64."""
    shutil.copytree(built, copy)
    if platform.machine() in ("aarch64", "arm64"):
        return copy
    for dist_info in copy.glob("*.dist-info"):
        record = (dist_info / "RECORD").read_text().splitlines()
        native = [line.split(",")[0] for line in record if ".so" in Path(line.split(",")[0]).name]
        if not native:
            continue
        metadata = dict(
            line.split(": ", 1) for line in (dist_info / "METADATA").read_text().splitlines() if ": " in line
        )
        name, version = metadata["Name"], metadata["Version"]
        host = pip_install(
            python,
            cache / f"host-{platform.machine()}" / f"{name}-{version}",
            f"{name}=={version}",
            no_deps=True,
        )
        kept = set()  # (folder, module) of each extension module the build kept
        for relative in native:
            path = copy / relative
            if path.exists():
                kept.add((path.parent.relative_to(copy), path.name.split(".")[0]))
                path.unlink()
        for library in host.rglob("*.so*"):
            relative = library.relative_to(host)
            bundled = relative.parent.name.endswith(".libs")  # the libraries auditwheel bundles
            if bundled or (relative.parent, library.name.split(".")[0]) in kept:
                (copy / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(library, copy / relative)
    return copy


def function_environments() -> dict[str, dict[str, str]]:
    """Each function's variables as template.yaml sets them, at the parameters' defaults."""
    template = Template.load()
    resolve = make_resolver({**template.parameter_defaults(), "EndpointName": "vehicle-classifier"}, {}, {})
    return {f: template.function_environment(f, resolve) for f in FUNCTIONS}


def child_command(python: str, module: str, path: list[str], *flags: str) -> list[str]:
    # -I: no user site, no PYTHON* variables; -S: no site-packages but the ones named (the runtime's
    # boto3 stands for Lambda's); -B: no bytecode written, as in Lambda's read-only /var/task
    return [python, "-I", "-S", "-B", *flags, "-c", TIMED_IMPORT.format(module=module), ":".join(path)]


def timed_import(python, module, path, environment, cwd) -> tuple[float, float, bool]:
    """Wall-clock and CPU milliseconds of one cold import, and whether boto3 came with it."""
    done = subprocess.run(
        child_command(python, module, path),
        env={"PATH": os.environ.get("PATH", ""), **RUNTIME_ENVIRONMENT, **environment},
        cwd=cwd or tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"import {module} failed in {path[0]}:\n{done.stderr}")
    wall, cpu, boto3_loaded = done.stdout.split()
    return float(wall), float(cpu), boto3_loaded == "True"


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def print_report(args, python, runtime, timings, imports_boto3) -> None:
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True)
    host = platform.machine()
    print(f"Cold import, median of {args.runs} fresh processes each (runs interleaved)")
    print(f"  Python {version.stdout.decode().strip()} ({python}), host {host}")
    print(f"  boto3/botocore {args.boto3} as the runtime's: {runtime}")
    print(f"  build {args.build_dir}")
    if host not in ("aarch64", "arm64"):
        print("  (the build's aarch64 extension modules swapped for this host's, same versions)")
    print("  CPU: the process's own time, which other load on the machine barely moves; targets judged on it")
    columns = ("", "wall ms", "CPU ms", "wall +/-", "CPU +/-", "target", "", "boto3", "built")
    row = "{:28} {:>8} {:>8} {:>9} {:>9} {:>7} {:6} {:>5} {:>8}"
    print(row.format(*columns))
    print(row.format("", "median", "median", "vs boto3", "vs boto3", "CPU", "", "", "size"))
    medians = {
        name: [statistics.median(v[i] for v in values) for i in (0, 1)] for name, values in timings.items()
    }
    floor_wall, floor_cpu = medians[BOTO3]
    for name, (wall, cpu) in medians.items():
        if name == BOTO3:
            print(row.format(name, f"{wall:.1f}", f"{cpu:.1f}", "", "", "", "", "", ""))
            continue
        over = cpu - floor_cpu
        verdict = "met" if over <= TARGET_MS[name] else "MISSED"
        print(
            row.format(
                name,
                f"{wall:.1f}",
                f"{cpu:.1f}",
                f"{wall - floor_wall:+.1f}",
                f"{over:+.1f}",
                f"<={TARGET_MS[name]}",
                verdict,
                "yes" if imports_boto3[name] else "no",
                f"{size_mb(args.build_dir / name):.2f} MB",
            )
        )


def print_importtime(name, python, module, path, environment, cwd, top: int = 12) -> None:
    """One more cold import under -X importtime: the modules that cost most, cumulative."""
    done = subprocess.run(
        child_command(python, module, path, "-X", "importtime"),
        env={"PATH": os.environ.get("PATH", ""), **RUNTIME_ENVIRONMENT, **environment},
        cwd=cwd or tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            own, cumulative, module_name = line[len("import time:") :].split("|")
            rows.append((int(cumulative), int(own), module_name.rstrip()))
    print(f"\n{name}: -X importtime, the {top} largest cumulative (ms, own ms, module)")
    for cumulative, own, module_name in sorted(rows, reverse=True)[:top]:
        print(f"  {cumulative / 1000:7.1f} {own / 1000:7.1f} {module_name}")


if __name__ == "__main__":
    sys.exit(main())
