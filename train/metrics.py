"""Append every Trainer log (loss, learning rate, GRPO reward parts, completion lengths) to
`<output_dir>/metrics.jsonl`, one JSON object per line with `step`, `epoch` and a wall time.

The file is appended to, so a resumed run continues the same curve; `teachable report train`
reads it back.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from train.report import METRICS_FILE


class MetricsJSONL(TrainerCallback):
    def __init__(self, output_dir: str | Path, run_kind: str) -> None:
        self.path = Path(output_dir) / METRICS_FILE
        self.run_kind = run_kind
        self._start = time.time()
        self._last_step_time: float | None = None
        self._last_step = 0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._start = time.time()
        self._last_step_time = self._start
        self._last_step = state.global_step

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kw: Any):
        if not state.is_world_process_zero or not logs:
            return
        now = time.time()
        row: dict[str, Any] = {"kind": self.run_kind, "step": state.global_step, "time_s": now}
        if state.epoch is not None:
            row["epoch"] = state.epoch
        steps = state.global_step - self._last_step
        if steps > 0 and self._last_step_time is not None:
            row["step_time_s"] = (now - self._last_step_time) / steps
            self._last_step_time, self._last_step = now, state.global_step
        for key, value in logs.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            row[key] = value if math.isfinite(value) else None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
