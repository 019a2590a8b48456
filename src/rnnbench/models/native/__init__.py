"""The compiled time loops (kernels.cpp): built on first use, cached, called via ctypes.

The scan kernels (scan.py), the whole-layer kernels and the table lookup
(compiled_layer.py) call :func:`run`. They serve the compiled path of models/plan.py,
which a recurrence gets only on a CPU where :func:`available` says the library loaded;
elsewhere it runs torch's modules or the reference loop, with identical semantics (the
tests compare all three), and the training log says which.

The library is built with the system's C++ compiler (``$CXX``, else ``c++``/``g++``)
for the CPU it runs on (``-march=native``) and cached under
``$RNNBENCH_KERNEL_CACHE`` (default ``~/.cache/rnnbench/kernels``), keyed by the source,
the flags, the compiler's version and the CPU's model and feature flags: a cluster node
with another CPU builds its own copy instead of loading one it cannot run. Building takes
about 6 s; concurrent jobs each build to a private file and rename it into place.
``RNNBENCH_NATIVE=0`` turns the library off.

Directions and batch columns are independent recurrences, so a call is cut into pieces
(each direction, times groups of 256 columns) that run on torch's OpenMP threads
(``torch.set_num_threads``). The pieces do not depend on the thread count and a
column's arithmetic does not depend on its piece, so neither do the results (tested).
"""

from __future__ import annotations

import ctypes
import hashlib
import itertools
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import torch
from torch import Tensor

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("kernels.cpp")
# -fopenmp: the library's parallel loop binds to libgomp.so.1, which torch's CPU wheel
# has already loaded (same soname), so it runs on torch's own intra-op threads.
FLAGS = (
    "-O3",
    "-march=native",
    "-mprefer-vector-width=512",
    "-fopenmp",
    "-std=c++17",
    "-shared",
    "-fPIC",
)
_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}
# The batch is cut into groups of GROUP columns (a multiple of the kernels' 32-column
# register block). Narrower pieces measured no faster on two threads than one: threads
# writing neighbouring columns of the same rows share what the hardware prefetcher pulls.
# (A caller may pass its own group: the scan kernels, and compiled_layer.layer_group.)
GROUP = 256


def _compiler() -> str | None:
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and shutil.which(name):
            return name
    return None


def _cpu_identity() -> str:
    """Model name and feature flags: what -march=native compiles for."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    keep = [line for line in info.splitlines() if line.startswith(("model name", "flags"))]
    return "\n".join(sorted(set(keep)))


def cache_dir() -> Path:
    configured = os.environ.get("RNNBENCH_KERNEL_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rnnbench" / "kernels"


def _build(compiler: str) -> Path:
    version = subprocess.run(
        [compiler, "--version"], capture_output=True, text=True, check=True
    ).stdout
    identity = "\n".join([SOURCE.read_text(), " ".join(FLAGS), version, _cpu_identity()])
    key = hashlib.sha256(identity.encode()).hexdigest()[:16]
    target = cache_dir() / f"kernels-{key}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        done = subprocess.run(
            [compiler, *FLAGS, "-o", scratch, str(SOURCE)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{compiler} failed on {SOURCE}:\n{done.stderr.strip()}")
        os.replace(scratch, target)  # atomic: a concurrent job sees all of it or nothing
    finally:
        Path(scratch).unlink(missing_ok=True)
    log.info("compiled the recurrent kernels into %s", target)
    return target


_INT64_P = ctypes.POINTER(ctypes.c_int64)
# Arguments after (shape, piece count, pieces): "p" a tensor (pointer), "i" an int.
_SIGNATURES = {
    "elman_forward": "ppp",
    "elman_backward": "pppp",
    "lstm_forward": "ippppppp",
    "lstm_backward": "ippppppp",
    "gru_forward": "pppppp",
    "gru_backward": "ppppppp",
    "elman_layer_forward": "ippppp",
    "elman_layer_backward": "ipppppppp",
    "lstm_layer_forward": "ippppppp",
    "lstm_layer_backward": "ipppppppppp",
    "gru_layer_forward": "ipppppp",
    "gru_layer_backward": "ippppppppp",
    "table_gather": "ippp",
    "table_scatter": "ippp",
    "min_scan_forward": "ipp",
    "min_scan_backward": "ipppp",
}


@cache
def _library() -> tuple[ctypes.CDLL | None, str]:
    """(library, how) where how says what the recurrent layers run on, for the log."""
    if os.environ.get("RNNBENCH_NATIVE", "1") == "0":
        return None, "not built (RNNBENCH_NATIVE=0)"
    compiler = _compiler()
    if compiler is None:
        return None, "not built: no C++ compiler found (set CXX to use them)"
    try:
        path = _build(compiler)
        lib = ctypes.CDLL(str(path))
        for name, kinds in _SIGNATURES.items():
            for suffix in _SUFFIX.values():
                fn = getattr(lib, f"{name}_{suffix}")
                args = [ctypes.c_int if k == "i" else ctypes.c_void_p for k in kinds]
                fn.argtypes = [_INT64_P, ctypes.c_int64, _INT64_P, *args]
                fn.restype = None
    except (OSError, RuntimeError, subprocess.SubprocessError) as err:
        log.warning("no compiled recurrent kernels: %s", err)
        return None, f"not built: compiling {SOURCE.name} failed: {err}"
    return lib, f"compiled kernels ({path})"


def describe() -> str:
    """Whether the compiled kernels are here (and where from), e.g. for a training log."""
    return _library()[1]


def available() -> bool:
    """Whether the compiled library loaded (it serves CPU tensors of float32/float64)."""
    return _library()[0] is not None


def pieces(dirs: int, batch: int, group: int = GROUP) -> list[tuple[int, int, int, int]]:
    """(d_lo, d_hi, lo, hi) for every direction and group of ``group`` columns,
    direction-major: one direction per piece (the layer kernels return partial gradient
    sums per piece)."""
    bounds = [*range(0, batch, group), batch] if batch else [0, 0]
    return [(d, d + 1, lo, hi) for d in range(dirs) for lo, hi in itertools.pairwise(bounds)]


def sum_over_pieces(partial: Tensor, dirs: int) -> Tensor:
    """Each direction's total of per-piece partial sums partial [pieces, ...] (direction-major,
    as :func:`pieces` orders them): [dirs, ...], added in a fixed order."""
    return partial.view(dirs, -1, *partial.shape[1:]).sum(1)


def run(
    name: str, dims: tuple[int, int, int, int], *args: Tensor | int | None, group: int = GROUP
) -> None:
    """Call kernel ``name`` over dims (steps, dirs, hidden, batch) with ``args``.

    Tensors must be contiguous and of one floating dtype, or int64 (token ids); the
    outputs are written in place. None is a null pointer (no peepholes), a bool or int an
    int argument (a flag, a width). The pieces (directions x column groups) run on
    torch's OpenMP threads; each writes its own memory, so they need no locks. ``group``:
    the columns per piece, for kernels whose columns share nothing (no partial sums), so
    that a narrow batch still spreads over the threads.

    The plan (models/plan.py) gives the compiled path only where these hold; a model
    moved to another device after it was planned fails here, not with wrong results.
    """
    lib, how = _library()
    if lib is None:
        raise RuntimeError(f"{name}: the compiled kernels are {how}")
    dtype = next(a.dtype for a in args if isinstance(a, Tensor) and a.is_floating_point())
    if dtype not in _SUFFIX:
        raise ValueError(f"{name}: the compiled kernels take float32 or float64, got {dtype}")
    fn = getattr(lib, f"{name}_{_SUFFIX[dtype]}")
    pointers = []
    for arg in args:
        if isinstance(arg, Tensor):
            if arg.device.type != "cpu":
                raise ValueError(
                    f"{name}: the compiled kernels run on CPU tensors, got one on "
                    f"{arg.device} (plan the model for its device: models.plan_model)"
                )
            if not arg.is_contiguous() or arg.dtype not in (dtype, torch.int64):
                raise ValueError(f"{name}: every tensor must be contiguous {dtype} (or int64 ids)")
            pointers.append(arg.data_ptr())
        else:
            pointers.append(None if arg is None else int(arg))
    parts = pieces(dims[1], dims[3], group)
    flat = [value for piece in parts for value in piece]
    fn((ctypes.c_int64 * 4)(*dims), len(parts), (ctypes.c_int64 * len(flat))(*flat), *pointers)
