"""Whether benchmarks can be loaded, found out without loading them: for recipe preflight.

Local files (mirror or source) are checked by existence; hub datasets through `HubProbe`, which
asks `datasets` for the dataset's builder (its index: splits and, when the card declares them,
fields) and downloads no rows.
"""

from __future__ import annotations

from quality.benchmarks.registry import (
    BenchmarkSpec,
    Registry,
    first_line,
    hub_label,
    locate,
    missing_message,
)


class HubProbe:
    """Checks that hub datasets can be loaded without downloading their rows: the dataset's
    builder resolves and names the split (and the fields, when its card declares features).
    After one unreachable-hub error it stops asking, so an offline check costs one timeout."""

    def __init__(self) -> None:
        self.unreachable: str | None = None

    def spec_problem(self, spec: BenchmarkSpec) -> str | None:
        return self.problem(
            spec.source[3:], spec.subset, spec.split, spec.data_files, spec.text_fields
        )

    def problem(
        self,
        repo: str,
        subset: str | None = None,
        split: str | None = None,
        data_files: str | list[str] | None = None,
        fields: list[str] | None = None,
    ) -> str | None:
        """Why `datasets.load_dataset(repo, subset, split=split)` would fail, or None."""
        label = hub_label(repo, subset, split, data_files)
        if self.unreachable:
            return f"{label}: not tried, the hub was unreachable (see above)"
        import datasets

        kwargs = {"data_files": data_files} if data_files else {}
        try:
            builder = datasets.load_dataset_builder(repo, subset, **kwargs)
        except ConnectionError as exc:
            self.unreachable = first_line(exc)
            return f"{label}: {self.unreachable}"
        except Exception as exc:  # not found, gated, bad config name: all "not available"
            return f"{label}: {first_line(exc)}"
        splits = builder.info.splits
        if split and splits and split not in splits:
            return f"{label}: no split '{split}' (splits: {', '.join(splits)})"
        features = builder.info.features
        missing = [f for f in fields or [] if features is not None and f not in features]
        if missing:
            return f"{label}: no field(s) {missing} (fields: {', '.join(features or [])})"
        return None


def check_benchmarks(registry: Registry, names: list[str] | None, hub: HubProbe) -> list[str]:
    """Problems that would stop `items(names)`: unknown names, and one for the benchmarks found
    nowhere. Reads no rows: local files by existence, the hub through `hub`."""
    chosen = names or registry.default_names()
    unknown = registry.unknown(chosen)
    known = ", ".join(registry.names())
    problems = [
        f"unknown benchmark '{n}' in registry {registry.path} (known: {known})" for n in unknown
    ]
    missing = {}
    for name in (n for n in chosen if n not in unknown):
        spec = registry.specs[name]
        found = locate(spec)
        if found.path is not None:
            continue
        reason = hub.spec_problem(spec) if spec.hub else None
        if spec.hub and reason is None:
            continue
        missing[name] = (spec, [*found.tried, *([reason] if reason else [])])
    return problems + ([missing_message(missing)] if missing else [])
