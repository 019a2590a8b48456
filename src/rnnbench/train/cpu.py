"""Process-wide CPU settings for training, shared by `rnnbench train` and bench/."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

import torch

log = logging.getLogger(__name__)

# glibc mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_KEEP_BYTES = 1 << 30  # heap tops up to 1 GiB stay mapped between batches
_MMAP_BYTES = 32 << 20  # glibc's ceiling for the mmap threshold


def configure_cpu(threads: int) -> None:
    """Threads, denormal flushing and allocator reuse for a training process.

    - Vanishing gradients end in subnormal floats, which the CPU handles up to 100x
      slower; flushing them to zero (as TensorFlow does) changes values below 1e-38 only.
    - glibc returns large freed blocks to the kernel, so every batch's multi-megabyte
      tensors came back as fresh pages, each faulted in and zeroed on first touch:
      measured 10-20% of a seed-A bidirectional GRU step. Keeping freed memory in the
      heap (what jemalloc/tcmalloc setups do) removes that; peak memory is unchanged.
    """
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        ok = libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_BYTES) and libc.mallopt(
            _M_TRIM_THRESHOLD, _KEEP_BYTES
        )
    except (OSError, AttributeError):  # not glibc: its allocator has its own policy
        ok = False
    if not ok:
        log.debug("allocator settings not applied (no glibc mallopt)")
