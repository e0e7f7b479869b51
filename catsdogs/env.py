"""Set-up shared by every notebook: quiet logs, seeds, and the versions in use."""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import random
import subprocess
import sys
import warnings
from pathlib import Path


@contextlib.contextmanager
def _stderr_fd_silenced():
    """Send file descriptor 2 to /dev/null: C++ code writes there, past Python's sys.stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ and absl log lines, then import TensorFlow once.

    TensorFlow prints start-up lines (CUDA probing, absl's "before InitializeLog" notice)
    straight to the process's stderr, where notebooks show them as red noise. Importing it
    here with that stream muted keeps rendered notebooks clean; errors still raise normally.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="keras.src.trainers.data_adapters.py_dataset_adapter")
    with _stderr_fd_silenced():
        import tensorflow  # noqa: F401  (imported for its side effect: loaded, quietly)


def cpu_model() -> str:
    """The CPU's name: ``/proc/cpuinfo`` on Linux, ``sysctl`` on macOS, else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if platform.system() == "Darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            pass
    return platform.processor() or platform.machine()


def set_seeds(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow so a run can be repeated."""
    import keras

    random.seed(seed)
    keras.utils.set_random_seed(seed)  # seeds Python, NumPy and the backend together


def versions() -> dict[str, str]:
    """Versions worth printing at the top of a notebook, for anyone comparing results."""
    import keras
    import numpy
    import tensorflow as tf

    devices = [d.device_type for d in tf.config.list_physical_devices()]
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "devices": ", ".join(devices),
    }


def describe() -> str:
    """One line with the versions and devices, for the top of a notebook."""
    v = versions()
    return (f"Python {v['python']} · TensorFlow {v['tensorflow']} · Keras {v['keras']} · "
            f"NumPy {v['numpy']} · devices: {v['devices']}")
