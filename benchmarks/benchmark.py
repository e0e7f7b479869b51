"""Speed benchmark for the cats-vs-dogs tutorial: input pipelines, training steps, prediction latency.

    python -m benchmarks.benchmark                       # real data from notebook 01 (workspace: the repository)
    python -m benchmarks.benchmark --workdir /tmp/run    # the workspace notebook 01 wrote its data to
    python -m benchmarks.benchmark --tiny                # generated images, a few seconds per part: a smoke test

It measures what the notebooks build: their default parameters (image size, interpolation, batch size,
augmentation, seed, dropout, learning rate, generator threads) are read from the notebooks
(``benchmarks.defaults``), and the model is notebook 02's, with and without batch normalisation.
Every comparison is measured side by side in one run, alternatives interleaved round by round, so that a
machine shared with other work slows all of them alike; compare ratios and medians, not single numbers.
The results go to ``results/benchmark_<device>.json`` and ``figures/benchmark.png`` in the workspace (or
``--output`` / ``--figure``); both record the hardware, the software versions and the load average.
The parts: ``pipelines`` (input pipelines alone), ``training`` (matmul peak, training steps, epoch
estimates), ``latency`` (one prediction), ``figure``. See benchmarks/README.md for how to read them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .common import clock_log, count_files, data_folder, describe_machine, device_label, hardware_line, load_average
from .defaults import tutorial_defaults
from .figure import make_figure
from .latency import measure_latency
from .pipelines import measure_pipelines
from .training import measure_matmul, measure_training

SCHEMA_VERSION = 1


@dataclass
class Settings:
    """What is measured, and how much. ``settings_for`` fills it with the notebooks' defaults."""

    mode: str  # "full" for real numbers, "tiny" for a smoke test
    image_size: int  # notebook 01's (tiny: smaller)
    interpolation: str  # notebook 01's
    batch_size: int  # notebook 01's (tiny: smaller)
    augmentation: dict  # notebook 01's ImageDataGenerator arguments
    colour_augmentation: dict  # notebook 01's colour changes (catsdogs.colour)
    seed: int  # the notebooks'
    workers: int  # notebook 03's generator threads
    other_sizes: tuple[int, ...] = (150, 128, 64)  # the seed's size, a middle one, the classroom profile's
    matmul_sizes: tuple[int, ...] = (2048, 4096)
    matmul_repeats: int = 3
    rounds: int = 3  # every comparison is repeated this many times, interleaved
    warmup_batches: int = 3  # pipeline batches discarded before timing
    pipeline_batches: int = 16  # pipeline batches timed per round
    train_steps: int = 2  # training steps timed per round and configuration (one more runs untimed)
    eval_steps: int = 2  # evaluation (validation) steps timed per round and configuration
    architectures: tuple[bool, ...] = (False, True)  # notebook 02's batch_norm off (the classic model) and on
    small_sizes_fed_by_idg: bool = True  # also time other_sizes fed by ImageDataGenerator (classic model)
    xla: bool = True  # also time jit_compile=True (compiling takes a while: the tiny mode leaves it out)
    idg_threads: tuple[int, ...] = (2, 4)  # ImageDataGenerator workers (threads) besides the default 1
    idg_processes: int = 2  # ImageDataGenerator workers with use_multiprocessing=True
    latency_warm_calls: int = 40
    latency_cold_repeats: int = 2
    train_images: int = 0  # filled in from the data
    validation_images: int = 0
    notebook_defaults: dict = field(default_factory=dict)  # all, as read (the model's: see common.build_model)


def settings_for(tiny: bool) -> Settings:
    """The full benchmark with the notebooks' defaults, or (``tiny``) a smoke test of every part."""
    d = tutorial_defaults()
    notebooks = {"image_size": d.image_size, "interpolation": d.interpolation, "batch_size": d.batch_size,
                 "augmentation": d.augmentation, "colour_augmentation": d.colour_augmentation, "seed": d.seed,
                 "workers": d.workers, "notebook_defaults": d.as_dict()}
    if not tiny:
        return Settings(mode="full", **notebooks)
    return Settings(
        mode="tiny", **(notebooks | {"image_size": 48, "batch_size": 4}), other_sizes=(), matmul_sizes=(256,),
        matmul_repeats=1, rounds=1, warmup_batches=1, pipeline_batches=1, train_steps=1, eval_steps=1,
        idg_threads=(2,), idg_processes=0, architectures=(True,), small_sizes_fed_by_idg=False, xla=False,
        latency_warm_calls=2, latency_cold_repeats=1,
    )


def levers(results: dict) -> dict:
    """Speed-ups (baseline time / variant time: above 1 is faster) for each lever, from the measurements."""
    t = results["training"]["configs"]
    s = results["settings"]
    base = s["image_size"]
    threads = f"idg_workers{s['workers']}"
    out: dict[str, dict] = {}

    def ratio(a: str, b: str, key: str = "step_s_median") -> float | None:
        if a in t and b in t and key in t[a] and key in t[b]:
            return round(t[a][key] / t[b][key], 2)
        return None

    for arch in ("classic", "batchnorm"):
        out[arch] = {k: v for k, v in {
            "xla_step": ratio(f"{arch}_{base}_memory", f"{arch}_{base}_memory_xla"),
            **{f"size_{n}_step": ratio(f"{arch}_{base}_memory", f"{arch}_{n}_memory") for n in s["other_sizes"]},
            f"{threads}_epoch": ratio(f"{arch}_{base}_idg", f"{arch}_{base}_{threads}", "epoch_s_estimate"),
            "tfdata_vs_idg_epoch": ratio(f"{arch}_{base}_idg", f"{arch}_{base}_tfdata", "epoch_s_estimate"),
            "tfdata_vs_idg_step": ratio(f"{arch}_{base}_idg", f"{arch}_{base}_tfdata"),
            "augmentation_in_dataset_vs_in_model_step": ratio(f"{arch}_{base}_tfdata_in_model", f"{arch}_{base}_tfdata"),
            "in_memory_vs_idg_step": ratio(f"{arch}_{base}_idg", f"{arch}_{base}_memory"),
        }.items() if v is not None}
    out["batchnorm_vs_classic_step"] = ratio(f"classic_{base}_memory", f"batchnorm_{base}_memory")
    classic = f"classic_{base}_idg"
    if classic in t and "epoch_s_estimate" in t[classic]:
        out["vs_classic_idg_epoch"] = {
            name: round(t[classic]["epoch_s_estimate"] / c["epoch_s_estimate"], 2)
            for name, c in t.items() if "epoch_s_estimate" in c
        }
    pipes = results["pipelines"]["pipelines"]
    out["pipeline_throughput_vs_idg"] = {k: v.get("speedup_vs_idg") for k, v in pipes.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", help="the workspace notebook 01 prepared (default: $CATSDOGS_WORKDIR or the "
                        "repository); outputs go to its results/ and figures/")
    parser.add_argument("--data", help="a folder with train/ and validation/ (default: <workdir>/data/"
                        "cats_and_dogs_filtered)")
    parser.add_argument("--tiny", action="store_true", help="generated images, one or two batches: checks the script works")
    parser.add_argument("--output", help="the JSON file (default: <workdir>/results/benchmark_<device>.json)")
    parser.add_argument("--figure", help="the figure (default: <workdir>/figures/benchmark.png)")
    parser.add_argument("--rounds", type=int, help="repeat every comparison this many times, interleaved")
    args = parser.parse_args(argv)

    log = clock_log()
    began = time.perf_counter()
    load_start = load_average()
    from catsdogs import artifacts, paths
    from catsdogs.env import quiet_tensorflow, set_seeds

    quiet_tensorflow()
    s = settings_for(args.tiny)
    if args.rounds:
        s.rounds = args.rounds

    scratch = Path(tempfile.mkdtemp(prefix="catsdogs-benchmark-"))
    try:
        ws = paths.workspace(args.workdir)
        data = data_folder(args.data, args.tiny, ws, scratch, size=64)
        if data is None:
            return 2
        s.train_images, s.validation_images = count_files(data / "train"), count_files(data / "validation")
        set_seeds(s.seed)
        hardware, software = describe_machine()
        log(hardware_line(hardware, software) + f"; {s.mode} mode; {s.train_images} training images")
        results: dict = {"schema": SCHEMA_VERSION, "mode": s.mode,
                         "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                         "hardware": hardware, "software": software, "settings": asdict(s),
                         "data": "generated images" if args.tiny and not args.data else "cats_and_dogs_filtered"}
        log("matmul peak")
        results["matmul"] = measure_matmul(s, log)
        log("input pipelines")
        results["pipelines"] = measure_pipelines(data, s, log)
        log("training steps")
        results["training"] = measure_training(data, s, results["matmul"]["peak_gflops"], log)
        log("prediction latency")
        results["prediction_latency"] = measure_latency(s, scratch, log)
        results["load_average"] = {"start": load_start, "end": load_average()}
        results["levers"] = levers(results)
        results["duration_s"] = round(time.perf_counter() - began, 1)

        output = Path(args.output) if args.output else ws.results / f"benchmark_{device_label(hardware)}.json"
        figure = Path(args.figure) if args.figure else ws.figures / "benchmark.png"
        artifacts.save_json(output, results)
        make_figure(results, figure)
        log(f"wrote {output} and {figure}")
        print(json.dumps(results["levers"], indent=1))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
