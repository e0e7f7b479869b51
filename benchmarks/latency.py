"""Single-image prediction latency of notebook 02's model: ``model.predict(x)`` against ``model(x, training=False)``.

Cold: a fresh Python process imports TensorFlow, loads the ``.keras`` file and times its first and second
call (this module, run as ``python -m benchmarks.latency MODEL MODE SIZE``, is that process). Warm: the
median of many alternating calls in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .common import REPO_ROOT, tutorial_model

if TYPE_CHECKING:
    from .benchmark import Settings

MODES = ("predict", "call")


def cold_latency_child(model_path: str, mode: str, size: int) -> dict:
    """In a fresh process: import, load the model, time the first and second call."""
    start = time.perf_counter()
    from catsdogs.env import quiet_tensorflow

    quiet_tensorflow()
    import keras
    import numpy as np

    imported = time.perf_counter()
    model = keras.models.load_model(model_path)
    loaded = time.perf_counter()
    x = np.random.default_rng(0).random((1, size, size, 3), dtype=np.float32)
    times = []
    for _ in range(2):
        t = time.perf_counter()
        if mode == "predict":
            model.predict(x, verbose=0)
        else:
            np.asarray(model(x, training=False))
        times.append(time.perf_counter() - t)
    return {"import_s": round(imported - start, 3), "load_s": round(loaded - imported, 3),
            "first_call_s": round(times[0], 4), "second_call_s": round(times[1], 4)}


def measure_latency(s: Settings, workdir: Path, log: Callable[[str], None]) -> dict:
    """Cold (fresh processes) and warm latencies of one image, for both ways of calling the model."""
    import keras
    import numpy as np

    from catsdogs import artifacts

    size = s.image_size
    path = artifacts.save_model(tutorial_model(size), workdir / "latency_model.keras")
    x = np.random.default_rng(0).random((1, size, size, 3), dtype=np.float32)
    modes = {"predict": lambda m: m.predict(x, verbose=0), "call": lambda m: np.asarray(m(x, training=False))}

    cold: dict[str, list] = {m: [] for m in modes}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    for _ in range(s.latency_cold_repeats):
        for mode in modes:
            out = subprocess.run([sys.executable, "-m", "benchmarks.latency", str(path), mode, str(size)],
                                 capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300)
            if out.returncode != 0:
                raise RuntimeError(f"cold latency child failed: {out.stderr[-2000:]}")
            cold[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))

    in_process = {}
    for mode, call in modes.items():
        model = keras.models.load_model(path)
        t = time.perf_counter()
        call(model)
        in_process[mode] = round(time.perf_counter() - t, 4)

    model = keras.models.load_model(path)
    for call in modes.values():
        for _ in range(3):
            call(model)
    warm: dict[str, list[float]] = {m: [] for m in modes}
    for _ in range(s.latency_warm_calls):
        for mode, call in modes.items():
            t = time.perf_counter()
            call(model)
            warm[mode].append(time.perf_counter() - t)

    def summary(runs: list[dict]) -> dict:
        return {k: round(statistics.median(r[k] for r in runs), 4) for k in runs[0]}

    result = {
        "model": f"notebook 02's default model, {size}×{size}, loaded from a .keras file",
        "input": "one image, shape (1, H, W, 3) float32 (preprocessing not included)",
        "cold_fresh_process": {m: summary(cold[m]) | {"runs": len(cold[m])} for m in modes},
        "first_call_after_load_in_warm_process_s": in_process,
        "warm_median_s": {m: round(statistics.median(v), 5) for m, v in warm.items()},
        "warm_p90_s": {m: round(sorted(v)[int(0.9 * (len(v) - 1))], 5) for m, v in warm.items()},
        "warm_calls": s.latency_warm_calls,
    }
    w = result["warm_median_s"]
    result["warm_predict_over_call"] = round(w["predict"] / w["call"], 2)
    log(f"  warm: predict {1000 * w['predict']:.1f} ms, call {1000 * w['call']:.1f} ms; cold first call: "
        + ", ".join(f"{m} {1000 * result['cold_fresh_process'][m]['first_call_s']:.0f} ms" for m in modes))
    return result


def main(argv: list[str] | None = None) -> int:
    """The cold-start child: print one JSON line of timings."""
    parser = argparse.ArgumentParser(description="time a fresh process's first predictions (used by benchmark)")
    parser.add_argument("model", help="a .keras file")
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("size", type=int)
    args = parser.parse_args(argv)
    print(json.dumps(cold_latency_child(args.model, args.mode, args.size)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
