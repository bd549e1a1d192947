"""In-process Hugging Face transformers on a local checkpoint (a `teachable train` output
folder, any HF model folder, a GGUF dequantized once), on CPU or GPU, generating in batches.

    ModelConfig(backend="transformers", model="runs/sft", concurrency=16)
    ModelConfig(backend="transformers")            # SmolLM2 rebuilt from its embedded GGUF

What the shared ModelConfig fields mean here: `model` is the folder (or a hub id already in
the local HF cache, or an embedded model name; `gguf` a GGUF file), `concurrency` is the batch
(sequences decoded together), `n_threads` the torch CPU threads, `max_model_len` the longest
prompt kept (left-truncated). Device: CUDA when available (bf16 where supported), else CPU
(fp32). torch and transformers are imported only when this backend is chosen.

Per-sample seeds in a batch: `generate` has one global RNG, so sampling there would make a
sample depend on which others share its batch. Instead a logits processor holds one
`torch.Generator` per row, seeded with that sample's seed (request seed + sample index, as in
every backend), applies the row's temperature and top-p and draws the row's token from its own
stream; it returns scores that are -inf except at the drawn token, and `generate` runs greedy
over them. Row i's tokens therefore depend only on its own prompt and seed: the same sample
comes out alone or in any batch, up to floating-point differences of padded batched matmuls.

Cache identity: a retrained folder keeps its path, so the config carries a fingerprint of the
folder's weight files (`ModelConfig.weights`, synth.checkpoint), part of every request's cache
key; answers of old weights are never served for new ones.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, cast

from store.errors import ConfigError, NotFoundError
from synth.backends.base import Backend, Completion, SampleTask, Sink, admitted_tasks
from synth.checkpoint import local_folder, with_weights_identity
from synth.models import GEMMA3_270M, SMOLLM2, ModelConfig, resolve_gguf
from synth.reasoning import normalize


def model_source(config: ModelConfig) -> str:
    """What `from_pretrained` loads: the folder, a GGUF rebuilt as a folder, or a hub id."""
    folder = local_folder(config)
    if folder is not None:
        if not (folder / "config.json").is_file():
            raise NotFoundError(
                f"{folder} is not a model folder: no config.json (expected a `teachable train` "
                "output folder or a Hugging Face model folder)"
            )
        return str(folder)
    if config.gguf or config.model in (SMOLLM2, GEMMA3_270M):
        from train.model_loading import gguf_to_hf  # a GGUF counts as quantized: rebuild it

        return str(gguf_to_hf(resolve_gguf(config)))
    return config.model  # a hub id: from the local HF cache, or downloaded where allowed


class TransformersBackend(Backend):
    name = "transformers"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(with_weights_identity(config))
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if config.n_threads:
            torch.set_num_threads(config.n_threads)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.float32
        if self.device == "cuda" and torch.cuda.is_bf16_supported():
            dtype = torch.bfloat16
        source = model_source(config)
        self.tokenizer = AutoTokenizer.from_pretrained(source)
        self.tokenizer.padding_side = "left"
        self.tokenizer.truncation_side = "left"  # a prompt over max_model_len keeps its end
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
        # transformers annotates the wrapped .to() with its model type, not torch's device
        self.model = model.to(self.device)  # type: ignore[arg-type]
        self.model.eval()
        self.eos_ids = _eos_ids(self.tokenizer, self.model)

    def run(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
        admitted = admitted_tasks(tasks, sink)
        for batch in self._batches(admitted):
            for (_, task), completion in zip(batch, self._generate(batch), strict=True):
                sink.emit(task, completion)

    def _batches(self, tasks: list[SampleTask]) -> list[list[tuple[str, SampleTask]]]:
        """(prompt text, task) batches of tasks sharing max_tokens and stop strings, each
        batch of similar prompt lengths (less padding)."""
        groups: dict[tuple[Any, ...], list[tuple[str, SampleTask]]] = {}
        for task in tasks:
            key = (task.sampling.max_tokens, task.sampling.stop)
            groups.setdefault(key, []).append((self._prompt_text(task), task))
        size = self.config.concurrency
        batches = []
        for members in groups.values():
            members.sort(key=lambda m: len(m[0]))
            for start in range(0, len(members), size):
                batches.append(members[start : start + size])
        return batches

    def _prompt_text(self, task: SampleTask) -> str:
        if task.prompt is not None:
            return task.prompt
        if not self.tokenizer.chat_template:
            raise ConfigError(
                f"{self.config.model}: the tokenizer has no chat template; send `prompt` requests"
            )
        assert task.messages is not None  # a task holds messages or a prompt (ChatRequest)
        text = self.tokenizer.apply_chat_template(
            task.messages, add_generation_prompt=True, tokenize=False
        )
        return cast(str, text)  # tokenize=False: the rendered text

    def _generate(self, batch: list[tuple[str, SampleTask]]) -> list[Completion]:
        start = time.perf_counter()
        try:
            texts, finish, prompt_tokens, new_tokens = self._decode_batch(batch)
        except Exception as exc:  # a bad batch (e.g. out of memory) fails its samples only
            return [Completion(error=f"{type(exc).__name__}: {exc}") for _ in batch]
        latency = (time.perf_counter() - start) / len(batch)  # batch time per sample
        out = []
        for text, reason, pt, ct in zip(texts, finish, prompt_tokens, new_tokens, strict=True):
            answer, reasoning = normalize(text, None)
            out.append(
                Completion(
                    text=answer,
                    reasoning=reasoning,
                    finish_reason=reason,
                    prompt_tokens=pt,
                    completion_tokens=ct,
                    latency_s=latency,
                    cost_usd=self.config.cost(pt, ct),
                )
            )
        return out

    def _decode_batch(
        self, batch: list[tuple[str, SampleTask]]
    ) -> tuple[list[str], list[str], list[int], list[int]]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        tasks = [task for _, task in batch]
        s = tasks[0].sampling
        limit = self.config.max_model_len
        encoded = self.tokenizer(
            [text for text, _ in batch],
            return_tensors="pt",
            padding=True,
            add_special_tokens=False,
            truncation=limit is not None,
            max_length=limit,
        ).to(self.device)
        sampler = RowSampler(
            [t.sampling.temperature for t in tasks],
            [t.sampling.top_p for t in tasks],
            [t.sampling.seed for t in tasks],
            self.device,
        )
        generation = GenerationConfig(
            max_new_tokens=s.max_tokens,
            do_sample=False,
            eos_token_id=self.eos_ids,
            pad_token_id=self.tokenizer.pad_token_id,
            stop_strings=list(s.stop) if s.stop else None,
        )
        with torch.inference_mode():
            output = self.model.generate(
                **encoded,
                generation_config=generation,
                logits_processor=LogitsProcessorList([sampler]),
                tokenizer=self.tokenizer,
            )
        new = output[:, encoded["input_ids"].shape[1] :].tolist()
        prompt_tokens = encoded["attention_mask"].sum(dim=1).tolist()
        texts, finish, lengths = [], [], []
        for row in new:
            text, reason, length = self._finish(row, s.stop, s.max_tokens)
            texts.append(text)
            finish.append(reason)
            lengths.append(length)
        return texts, finish, [int(p) for p in prompt_tokens], lengths

    def _finish(
        self, row: list[int], stop: tuple[str, ...] | None, max_tokens: int
    ) -> tuple[str, str, int]:
        """(text, finish reason, tokens generated) of one row: cut at its first end-of-turn
        token, then at its first stop string (which, as in the OpenAI API, is not returned)."""
        end = next((i for i, tok in enumerate(row) if tok in self.eos_ids), None)
        if end is None:  # stopped by a stop string or the length: drop the batch's padding
            pad = self.tokenizer.pad_token_id
            while row and row[-1] == pad:
                row = row[:-1]
        length = len(row) if end is None else end + 1
        ids = row[: end if end is not None else length]
        text = cast(str, self.tokenizer.decode(ids, skip_special_tokens=True))  # one sequence
        reason = "stop" if end is not None else ("length" if length >= max_tokens else "stop")
        for word in stop or ():
            cut = text.find(word)
            if cut >= 0:
                text, reason = text[:cut], "stop"
        return text, reason, length

    def close(self) -> None:
        self.model = None
        if self.device == "cuda":
            import torch

            torch.cuda.empty_cache()


def _eos_ids(tokenizer: Any, model: Any) -> list[int]:
    ids = {tokenizer.eos_token_id}
    configured = model.generation_config.eos_token_id
    ids.update(configured if isinstance(configured, list) else [configured])
    return sorted(i for i in ids if i is not None)


class RowSampler:
    """A logits processor that samples each row from its own seeded generator (see the module
    docstring); temperature 0 is greedy."""

    def __init__(
        self, temperatures: list[float], top_ps: list[float], seeds: list[int], device: str
    ) -> None:
        import torch

        self.temperature = torch.tensor(temperatures, device=device, dtype=torch.float32)
        self.top_p = torch.tensor(top_ps, device=device, dtype=torch.float32)
        self.generators = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]
        self.device = device

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        logits = scores.float()
        greedy = logits.argmax(dim=-1)
        probs = torch.softmax(logits / self.temperature.clamp(min=1e-6)[:, None], dim=-1)
        ordered, order = probs.sort(dim=-1, descending=True)
        # nucleus: keep the smallest prefix whose mass reaches top_p (the first token always)
        ordered = ordered.masked_fill(ordered.cumsum(-1) - ordered > self.top_p[:, None], 0.0)
        cdf = ordered.cumsum(-1)
        draws = torch.stack(
            [torch.rand((), generator=g, device=self.device) for g in self.generators]
        )
        picked = torch.searchsorted(cdf, (draws * cdf[:, -1])[:, None]).clamp(max=cdf.shape[1] - 1)
        sampled = order.gather(1, picked).squeeze(1)
        token = torch.where(self.temperature > 0, sampled, greedy)
        out = torch.full_like(scores, float("-inf"))
        return out.scatter(1, token[:, None], 0.0)
