"""Where something ran: the machine's CPU, cores, memory, GPUs, platform and versions.

One description of the machine, shared by training records (run.json sessions,
published manifests) and the benchmarks. Imports no Keras; reads installed
versions from package metadata, so nothing heavy is imported.
"""

from __future__ import annotations

import datetime
import os
import platform

__all__ = ["machine_info"]


def _gpu_names() -> list[str]:
    try:
        import subprocess

        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict:
    """Where a figure was measured: CPU, cores, memory, GPU, versions, date.

    Reads installed versions from package metadata, so nothing heavy is
    imported.
    """
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory_gb = round(pages / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        memory_gb = None
    versions = {
        name: _version(name)
        for name in ("keras", "tensorflow", "jax", "torch", "torchvision", "numpy", "pillow")
    }
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "gpus": _gpu_names(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {k: v for k, v in versions.items() if v},
    }
