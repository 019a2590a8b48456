"""A separate virtual environment with Keras 3 on TensorFlow CPU, for the Keras side of the bench.

TensorFlow is large (~600 MB of wheels) and its pins (numpy, protobuf, ...) must not leak
into rnnbench's own environment, so the bench installs it into ``bench/.venv-keras`` and
runs ``bench/keras_side.py`` with that venv's python. This module only uses the standard
library: it is imported from rnnbench's venv, which has no TensorFlow.

Creation never raises: without network, with a failing pip or an unusable directory,
``keras_python`` returns ``(None, reason)`` and the bench skips its Keras side saying why.

    python bench/keras_env.py [--venv DIR] [--no-install]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VENV = REPO / "bench" / ".venv-keras"

# Pinned so that timings taken on different days compare the same software.
TENSORFLOW = "tensorflow-cpu==2.21.0"
KERAS = "keras==3.15.1"
PINS: dict[str, str] = {"tensorflow": "2.21.0", "keras": "3.15.1"}

PIP_TIMEOUT_S = 3600  # ~600 MB of wheels on a slow link
IMPORT_TIMEOUT_S = 300  # the first TensorFlow import on a cold disk takes a while
TAIL_LINES = 20  # of pip's stderr, in the reason returned on failure

# Checked by importing both and printing their versions: "import keras" alone can succeed
# with a broken TensorFlow underneath (Keras 3 imports its backend lazily).
_CHECK = "import tensorflow, keras; print(tensorflow.__version__, keras.__version__)"


def _venv_python(venv: Path) -> Path:
    """The interpreter inside ``venv`` (``Scripts/python.exe`` on Windows)."""
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def _tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` non-empty lines: pip's actual error is at the end of its output."""
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def _quiet_env() -> dict[str, str]:
    """Environment for the import check: TensorFlow backend, C++ info/warning logs off."""
    return os.environ | {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}


def installed_versions(python: Path) -> tuple[dict[str, str] | None, str]:
    """``({"tensorflow": v, "keras": v}, "")`` if both import under ``python``, else (None, why)."""
    try:
        done = subprocess.run(
            [str(python), "-c", _CHECK],
            capture_output=True,
            text=True,
            timeout=IMPORT_TIMEOUT_S,
            env=_quiet_env(),
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        return None, f"cannot run {python}: {error}"
    if done.returncode != 0:
        return None, f"'import tensorflow, keras' failed:\n{_tail(done.stderr)}"
    words = done.stdout.split()
    if len(words) < 2:
        return None, f"unexpected version output {done.stdout!r}"
    return {"tensorflow": words[-2], "keras": words[-1]}, ""


def _say(message: str) -> None:
    """Progress goes to stderr: callers may keep stdout for results (JSON lines, tables)."""
    print(f"[keras-env] {message}", file=sys.stderr, flush=True)


def _run_logged(command: list[str], timeout: float) -> tuple[bool, str]:
    """Run ``command`` with its stdout shown on our stderr; return (ok, tail of its stderr).

    pip prints progress ("Collecting ...") on stdout and errors on stderr, so the user sees
    a long download advance while the reason for a failure is still captured.
    """
    try:
        stdout_fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced, e.g. by a test runner
        stdout_fd = subprocess.DEVNULL
    try:
        done = subprocess.run(
            command,
            stdout=stdout_fd,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:.0f} s"
    except OSError as error:
        return False, str(error)
    if done.returncode != 0:
        return False, f"exit status {done.returncode}:\n{_tail(done.stderr or '')}"
    return True, ""


def keras_python(venv: Path = DEFAULT_VENV, install: bool = True) -> tuple[Path | None, str]:
    """Path of a python with the pinned TensorFlow CPU and Keras, and a message for the user.

    Reuses ``venv`` if it already imports the pinned versions; otherwise (and only if
    ``install``) creates it with the current interpreter and pip-installs the pins into it.
    Returns ``(None, reason)`` instead of raising, so a bench can skip its Keras side.
    """
    venv = Path(venv)
    python = _venv_python(venv)
    if python.exists():
        versions, why = installed_versions(python)
        if versions == PINS:
            return python, (
                f"reusing {venv} (tensorflow {versions['tensorflow']}, keras {versions['keras']})"
            )
        # The last line of a failed import is the exception itself.
        found = why.splitlines()[-1] if versions is None else f"found {versions}"
        state = f"{venv} exists but does not have {TENSORFLOW} and {KERAS} ({found})"
    else:
        state = f"no Keras venv at {venv}"
    if not install:
        return None, f"{state}; not installing (install=False)"
    if not venv.parent.is_dir():
        # Refuse to invent directory trees: a mistyped path should fail, not fill a disk.
        return None, f"{state}; cannot create it: {venv.parent} is not a directory"

    _say(f"{state}.")
    _say(
        f"Installing {TENSORFLOW} and {KERAS} into the SEPARATE virtual environment {venv}"
        " (about 600 MB to download, 1.6 GB on disk; rnnbench's own environment is not touched)."
    )
    if not python.exists():
        ok, why = _run_logged([sys.executable, "-m", "venv", str(venv)], timeout=600)
        if not ok:
            return None, f"cannot create the venv {venv} with {sys.executable}: {why}"
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    ok, why = _run_logged([*pip, "--progress-bar", "off", TENSORFLOW, KERAS], PIP_TIMEOUT_S)
    if not ok:
        return None, f"pip install {TENSORFLOW} {KERAS} into {venv} failed ({why})"
    versions, why = installed_versions(python)
    if versions is None:
        return None, f"installed into {venv}, but TensorFlow/Keras do not import: {why}"
    if versions != PINS:
        return None, f"installed into {venv}, but found {versions} instead of {PINS}"
    message = f"installed tensorflow {versions['tensorflow']}, keras {versions['keras']} in {venv}"
    _say(message)
    return python, message


def main() -> int:
    """Ensure the Keras venv exists and say where; exit status 1 if it cannot be had."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument(
        "--no-install", action="store_true", help="only check an existing venv, never install"
    )
    args = parser.parse_args()
    python, message = keras_python(args.venv, install=not args.no_install)
    print(message)
    if python is None:
        return 1
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
