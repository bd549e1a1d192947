"""Row selection and concatenation of the scored batches TRL's `_generate_and_score_completions`
returns (text prompts): what dynamic sampling needs to drop groups and append refills.

Prompt tensors are left-padded and completion tensors right-padded by TRL, so batches of
different widths are joined by padding on the same side; `num_items_in_batch` (the loss's
token count) is recomputed from the rows kept.
"""

from __future__ import annotations

from typing import Any

import torch

_LEFT = ("prompt_ids", "prompt_mask")
_UNSUPPORTED = ("pixel_values", "image_grid_thw", "num_images", "token_type_ids")


def _check(batch: dict[str, Any]) -> None:
    found = [k for k in _UNSUPPORTED if batch.get(k) is not None]
    if found:
        raise ValueError(f"dynamic sampling supports text prompts only (batch has {found})")


def _token_count(batch: dict[str, Any]) -> torch.Tensor:
    mask = batch["completion_mask"]
    if batch.get("tool_mask") is not None:
        mask = mask * batch["tool_mask"]
    return mask.sum()


def select_rows(batch: dict[str, Any], keep: torch.Tensor) -> dict[str, Any]:
    """The rows where `keep` (bool, one per completion) is true."""
    _check(batch)
    n = len(keep)
    index = torch.nonzero(keep.to(torch.bool), as_tuple=True)[0]
    out: dict[str, Any] = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor) and value.ndim > 0 and value.shape[0] == n:
            out[key] = value[index.to(value.device)]
        else:
            out[key] = value
    out["num_items_in_batch"] = _token_count(out)
    return out


def _pad_to(value: torch.Tensor, width: int, left: bool, fill: float) -> torch.Tensor:
    missing = width - value.shape[1]
    if missing <= 0:
        return value
    pad = value.new_full((value.shape[0], missing, *value.shape[2:]), fill)
    return torch.cat([pad, value] if left else [value, pad], dim=1)


def concat_batches(parts: list[dict[str, Any]], pad_token_id: int) -> dict[str, Any]:
    """One batch of all rows of `parts` (same keys), padded to the widest part."""
    if len(parts) == 1:
        return parts[0]
    out: dict[str, Any] = {}
    for key, first in parts[0].items():
        values = [part[key] for part in parts]
        if not isinstance(first, torch.Tensor) or first.ndim == 0:
            out[key] = first
        elif first.ndim == 1:
            out[key] = torch.cat(values)
        else:
            width = max(v.shape[1] for v in values)
            fill = pad_token_id if key.endswith("_ids") else 0
            out[key] = torch.cat([_pad_to(v, width, key in _LEFT, fill) for v in values])
    out["num_items_in_batch"] = _token_count(out)
    return out


def take_rows(batch: dict[str, Any], n: int) -> dict[str, Any]:
    """The first `n` rows."""
    keep = torch.zeros(len(batch["advantages"]), dtype=torch.bool)
    keep[:n] = True
    return select_rows(batch, keep)
