"""Plot a run's `metrics.jsonl` to one PNG: a panel per group of curves (loss, reward parts,
completion lengths, learning rate, ...), x = optimizer step. A GRPO run's `signal.jsonl`
(train/signal.py) adds the share of informative groups (reward variance > 0), overall and per
export-time band.

    teachable report train runs/sft-smoke            # writes runs/sft-smoke/report.png
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from store.errors import InputError, NotFoundError

METRICS_FILE = "metrics.jsonl"
SIGNAL_FILE = "signal.jsonl"  # train.signal.SIGNAL_FILE (kept import-free: no numpy here)

# Panel title -> predicate on the metric key. First match wins; order is the panel order.
_GROUPS: list[tuple[str, Any]] = [
    ("loss", lambda k: k in {"loss", "eval_loss"}),
    ("informative groups (share), by band", lambda k: k.startswith("informative_share")),
    ("reward", lambda k: k.startswith("reward") and not k.endswith("std")),
    ("completion length (tokens)", lambda k: k.startswith("completions/") and "length" in k),
    ("clipped ratio", lambda k: k.endswith("clipped_ratio")),
    ("learning rate", lambda k: k == "learning_rate"),
    ("grad norm", lambda k: k == "grad_norm"),
    ("token accuracy", lambda k: "token_accuracy" in k),
    ("entropy / kl", lambda k: k in {"entropy", "kl"}),
    ("seconds per step", lambda k: k == "step_time_s"),
]
# Run summaries and counters that would flatten the other curves.
_SKIP = {"step", "epoch", "time_s", "kind", "total_flos", "num_tokens", "train_runtime"}
_SKIP_SUFFIXES = ("_terminated_length", "std")


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        raise NotFoundError(f"no {METRICS_FILE} in {run_dir}")
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    signal = Path(run_dir) / SIGNAL_FILE
    if signal.exists():
        with signal.open(encoding="utf-8") as handle:
            rows += [json.loads(line) for line in handle if line.strip()]
    return rows


def series(rows: list[dict[str, Any]]) -> dict[str, tuple[list[int], list[float]]]:
    """metric -> (steps, values), skipping rows where the metric is absent or null."""
    out: dict[str, tuple[list[int], list[float]]] = {}
    for row in rows:
        for key, value in row.items():
            if key in _SKIP or key.endswith(_SKIP_SUFFIXES) or not isinstance(value, int | float):
                continue
            steps, values = out.setdefault(key, ([], []))
            steps.append(int(row.get("step", len(steps))))
            values.append(float(value))
    return out


def group_series(curves: dict[str, Any]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {title: [] for title, _ in _GROUPS}
    for key in sorted(curves):
        for title, match in _GROUPS:
            if match(key):
                groups[title].append(key)
                break
    return {title: keys for title, keys in groups.items() if keys}


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the run's metrics as a PNG grid; returns its path (default `<run_dir>/report.png`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    curves = series(read_metrics(run_dir))
    groups = group_series(curves)
    if not groups:
        raise InputError(f"{run_dir / METRICS_FILE} has no plottable metrics")
    cols = min(3, len(groups))
    rows = -(-len(groups) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.4 * rows), squeeze=False)
    for ax, (title, keys) in zip(axes.flat, groups.items(), strict=False):
        for key in keys:
            steps, values = curves[key]
            ax.plot(steps, values, marker="o" if len(steps) < 30 else None, ms=3, label=key)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(groups) :]:
        ax.set_visible(False)
    fig.suptitle(run_dir.name)
    fig.tight_layout()
    target = Path(out) if out else run_dir / "report.png"
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target
