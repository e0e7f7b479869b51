"""The benchmark's figure: pipelines, pure compute, epoch estimates and prediction latency, in four panels.

    python -m benchmarks.figure results/benchmark_cpu-2core-amd-epyc.json   # redraw from a saved results file
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import hardware_line


def _bars(ax, names: list[str], values: list[float], labels: list[str], colors: list[str]) -> None:
    """Horizontal bars, top to bottom in the order given, each labelled at its end."""
    ax.barh(names, values, color=colors)
    for i, (value, label) in enumerate(zip(values, labels)):
        ax.text(value, i, f" {label}", va="center", fontsize=8)
    ax.invert_yaxis()


def make_figure(results: dict, path: Path) -> Path:
    """Draw the four panels from a results dict (as written by ``benchmarks.benchmark``) into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    hw, sw, s = results["hardware"], results["software"], results["settings"]
    fig, axes = plt.subplots(2, 2, figsize=(14, 10))

    ax = axes[0, 0]
    pipes = {k: v for k, v in results["pipelines"]["pipelines"].items() if "images_per_s" in v}
    names = list(pipes)
    values = [pipes[k]["images_per_s"] for k in names]
    _bars(ax, names, values, [f"{pipes[k]['images_per_s']:.0f} ({pipes[k]['speedup_vs_idg']:.2f}×)" for k in names],
          ["tab:orange" if k.startswith("idg") else "tab:blue" for k in names])
    ax.set(xlabel="images per second (median)", title=f"Input pipelines alone, {s['image_size']} px, batch "
           f"{s['batch_size']}\n(orange: ImageDataGenerator, blue: tf.data, cached)")
    ax.margins(x=0.25)

    ax = axes[0, 1]
    t = results["training"]["configs"]

    def by_model(names: list[str]) -> list[str]:
        return ["tab:green" if t[k]["model"] == "batchnorm" else "tab:gray" for k in names]

    mem = [k for k in t if t[k]["feed"] == "memory"]
    _bars(ax, mem, [t[k]["step_s_median"] for k in mem],
          [f"{t[k]['step_s_median']:.2f} s · {t[k]['achieved_gflops']:.0f} GFLOP/s"
           f" ({100 * t[k]['fraction_of_matmul_peak']:.0f} % of matmul)" for k in mem], by_model(mem))
    ax.set(xlabel="seconds per training step (median)",
           title=f"Pure compute (in-memory batch): BatchNorm, XLA, image size\n"
                 f"(grey: classic, green: BatchNorm; matmul peak {results['matmul']['peak_gflops']:.0f} GFLOP/s)")
    ax.margins(x=0.6)

    ax = axes[1, 0]
    fed = [k for k in t if "epoch_s_estimate" in t[k]]
    baseline = f"classic_{s['image_size']}_idg"  # results before the notebooks' defaults were read: "seed setup"
    vs = results["levers"].get("vs_classic_idg_epoch") or results["levers"].get("vs_seed_setup_epoch", {})
    _bars(ax, fed, [t[k]["epoch_s_estimate"] for k in fed],
          [f"{t[k]['epoch_s_estimate']:.1f} s" + (f" ({vs[k]:.2f}×)" if k in vs else "") for k in fed], by_model(fed))
    ax.set(xlabel="estimated seconds per epoch (training + validation)",
           title=f"Epoch time by feed ({results['training']['steps_per_epoch']} training + "
                 f"{results['training']['validation_steps']} validation steps)\nspeed-ups against {baseline}")
    ax.margins(x=0.35)

    ax = axes[1, 1]
    lat = results["prediction_latency"]
    labels, values = [], []
    for mode in ("predict", "call"):
        labels += [f"{mode}: cold, fresh process (first call)", f"{mode}: first call after load (warm process)",
                   f"{mode}: warm (median)"]
        values += [lat["cold_fresh_process"][mode]["first_call_s"],
                   lat["first_call_after_load_in_warm_process_s"][mode], lat["warm_median_s"][mode]]
    _bars(ax, labels, [1000 * v for v in values], [f"{1000 * v:.1f} ms" for v in values],
          ["tab:red", "tab:orange", "tab:blue"] * 2)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set(xlabel="milliseconds (log scale)", title="Single-image prediction latency:\n"
           "model.predict(x) vs model(x, training=False)")
    ax.margins(x=0.3)

    load = results["load_average"]
    fig.suptitle(f"cats-vs-dogs benchmark ({results['mode']} mode) · {hardware_line(hw, sw)}\n"
                 f"load average at start {load['start']}, at end {load['end']} (other work on the machine slows "
                 "every variant alike: compare ratios)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="redraw the benchmark's figure from its results file")
    parser.add_argument("results", help="a results/benchmark_<device>.json")
    parser.add_argument("--figure", help="default: figures/benchmark.png beside the results/ folder")
    args = parser.parse_args(argv)
    results = json.loads(Path(args.results).read_text())
    figure = Path(args.figure) if args.figure else Path(args.results).resolve().parent.parent / "figures" / "benchmark.png"
    print("wrote", make_figure(results, figure))
    return 0


if __name__ == "__main__":
    sys.exit(main())
