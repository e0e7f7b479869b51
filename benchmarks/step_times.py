"""What each change to the model and the image size buys per training step, measured side by side.

    .venv/bin/python -m benchmarks.step_times          # about 3 minutes on 2 cores
    .venv/bin/python -m benchmarks.step_times --tiny   # two small variants, one round: checks the script works

Builds the tutorial's network in the variants that the notebooks chose between, and times
``train_on_batch`` on a fixed random batch (pure computation: no input pipeline), interleaved over rounds
so that other programs on the machine slow every variant alike. Reports the median seconds per step and
the time per epoch of 2,000 photos that follows, relative to the seed-style variant (classic model,
150×150, batch 32).

Writes ``results/step_times.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from .common import build_model, compile_model, describe_machine, hardware_line, load_average
from .defaults import tutorial_defaults

SCHEMA_VERSION = 1

#: name: (batch normalisation placement, image size, batch size); the notebooks' default is added by ``variants``
VARIANTS = {
    "classic_150_b32": ("none", 150, 32),  # the seed-style model
    "bn_before_relu_150_b32": ("before_relu", 150, 32),  # the usual placement: Conv → BN → ReLU → pool
    "bn_after_pool_150_b32": ("after_pool", 150, 32),  # the earlier choice: Conv+ReLU → pool → BN
    "bn_pool_bn_relu_150_b32": ("pool_bn_relu", 150, 32),  # notebook 02: Conv → pool → BN → ReLU
    "bn_pool_bn_relu_128_b32": ("pool_bn_relu", 128, 32),
    "bn_pool_bn_relu_112_b32": ("pool_bn_relu", 112, 32),
    "bn_pool_bn_relu_96_b32": ("pool_bn_relu", 96, 32),
    "bn_pool_bn_relu_96_b16": ("pool_bn_relu", 96, 16),
    "bn_after_pool_96_b16": ("after_pool", 96, 16),
    "bn_before_relu_96_b16": ("before_relu", 96, 16),
    "classic_96_b16": ("none", 96, 16),
    "bn_pool_bn_relu_64_b16": ("pool_bn_relu", 64, 16),  # the classroom profile
}
TINY_VARIANTS = {"classic_48_b8": ("none", 48, 8), "bn_pool_bn_relu_48_b8": ("pool_bn_relu", 48, 8)}


def tutorial_variant() -> tuple[str, tuple[str, int, int]]:
    """The notebooks' default (model, image size, batch size) as a variant: ``(name, (placement, size, batch))``."""
    d = tutorial_defaults()
    placement = "pool_bn_relu" if d.batch_norm else "none"
    prefix = "bn_pool_bn_relu" if d.batch_norm else "classic"
    return f"{prefix}_{d.image_size}_b{d.batch_size}", (placement, d.image_size, d.batch_size)


def variants(tiny: bool) -> dict[str, tuple[str, int, int]]:
    """The variants to time: the fixed comparisons and the notebooks' default (the tiny set in tiny mode)."""
    if tiny:
        return TINY_VARIANTS
    name, spec = tutorial_variant()
    return {**VARIANTS, name: spec}


def build(placement: str, size: int):
    """Notebook 02's network with batch normalisation at ``placement``, compiled as notebook 02 compiles it."""
    return compile_model(build_model(False, size, placement=placement))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.step_times", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--rounds", type=int, help="default 3 (tiny: 1)")
    parser.add_argument("--steps", type=int, help="timed steps per variant and round (default 4; tiny: 1)")
    parser.add_argument("--workdir", help="default: $CATSDOGS_WORKDIR or the repository")
    parser.add_argument("--output", help="default: <workdir>/results/step_times.json")
    args = parser.parse_args(argv)

    from catsdogs import artifacts, paths
    from catsdogs.env import quiet_tensorflow

    quiet_tensorflow()
    import numpy as np

    began = time.perf_counter()
    load_start = load_average()
    chosen = variants(args.tiny)
    baseline = next(iter(chosen))
    rounds = args.rounds or (1 if args.tiny else 3)
    steps = args.steps or (1 if args.tiny else 4)
    hardware, software = describe_machine()
    print(hardware_line(hardware, software), flush=True)
    rng = np.random.default_rng(0)
    models, batches = {}, {}
    for name, (placement, size, batch) in chosen.items():
        models[name] = build(placement, size)
        batches[name] = (rng.random((batch, size, size, 3), dtype=np.float32),
                         rng.integers(0, 2, (batch, 1)).astype(np.float32))
        for _ in range(2):  # warm-up: the first steps build the computation
            models[name].train_on_batch(*batches[name])
    samples: dict[str, list[float]] = {name: [] for name in chosen}
    for _ in range(rounds):
        for name in chosen:
            for _ in range(steps):
                start = time.perf_counter()
                models[name].train_on_batch(*batches[name])
                samples[name].append(time.perf_counter() - start)
    results = {}
    for name, (placement, size, batch) in chosen.items():
        step = statistics.median(samples[name])
        results[name] = {"batch_norm": placement, "image_size": size, "batch_size": batch,
                         "step_s_median": round(step, 4), "ms_per_image": round(1000 * step / batch, 2),
                         "train_epoch_s_2000_images": round(step / batch * 2000, 1)}
    base = results[baseline]["ms_per_image"]
    for entry in results.values():
        entry["speedup_vs_seed_style"] = round(base / entry["ms_per_image"], 2)
    output = {"schema": SCHEMA_VERSION, "mode": "tiny" if args.tiny else "full",
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "hardware": hardware, "software": software,
              "hardware_line": hardware_line(hardware, software), "baseline": baseline,
              "tutorial_default": None if args.tiny else tutorial_variant()[0],
              "method": f"median of {rounds} rounds × {steps} train_on_batch calls on a fixed random batch, "
                        "after 2 warm-up steps; variants interleaved",
              "variants": results, "load_average": {"start": load_start, "end": load_average()},
              "duration_s": round(time.perf_counter() - began, 1)}
    ws = paths.workspace(args.workdir)
    path = Path(args.output) if args.output else ws.results / "step_times.json"
    artifacts.save_json(path, output)
    width = max(map(len, results))
    for name, entry in results.items():
        print(f"{name:{width}}  {entry['ms_per_image']:6.2f} ms/image  {entry['train_epoch_s_2000_images']:6.1f} s/epoch"
              f"  {entry['speedup_vs_seed_style']:.2f}×")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
