"""Model configs: YAML loading, env-only secrets, hashes that ignore operational settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from synth import ChatRequest, ModelConfig, resolve_model_config

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["smollm2", "gemma3-270m", "llamacpp-server", "o3-mini"])
def test_example_configs_load(name: str) -> None:
    config = resolve_model_config(REPO / "models" / f"{name}.yaml")
    assert config.backend in {"llamacpp", "openai"}
    assert "sk-" not in (REPO / "models" / f"{name}.yaml").read_text()


def test_default_is_embedded_smollm2() -> None:
    assert resolve_model_config(None) == ModelConfig()
    assert ModelConfig().backend == "llamacpp"
    assert resolve_model_config("smollm2").model == "smollm2-135m-instruct"
    with pytest.raises(FileNotFoundError):
        resolve_model_config("no-such-model")


def test_api_key_only_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    config = ModelConfig(backend="openai", model="o3-mini", api_key_env="SYNTH_TEST_KEY")
    monkeypatch.delenv("SYNTH_TEST_KEY", raising=False)
    with pytest.raises(ValueError, match="SYNTH_TEST_KEY is not set"):
        config.api_key()
    monkeypatch.setenv("SYNTH_TEST_KEY", "sk-x")
    assert config.api_key() == "sk-x"
    with pytest.raises(ValueError):
        ModelConfig.model_validate({"api_key": "sk-x"})  # no field can hold a key


def test_config_hash_tracks_outputs_not_operations() -> None:
    base = ModelConfig(backend="openai", model="m", params={"temperature": 0.5})
    same = base.model_copy(update={"concurrency": 3, "base_url": "http://x", "timeout_s": 9})
    assert base.config_hash() == same.config_hash()
    assert (
        base.config_hash() != base.model_copy(update={"params": {"temperature": 0.6}}).config_hash()
    )
    assert base.config_hash() != base.model_copy(update={"reasoning_effort": "low"}).config_hash()


def test_sampling_merges_request_over_config_and_offsets_seed() -> None:
    config = ModelConfig(params={"temperature": 0.3, "max_tokens": 50, "seed": 10})
    s = config.sampling(ChatRequest(prompt="x", max_tokens=5), 2)
    assert (s.temperature, s.max_tokens, s.seed, s.top_p) == (0.3, 5, 12, 1.0)
    with pytest.raises(ValueError):
        ChatRequest(prompt="x", messages=[])
    with pytest.raises(ValueError):
        ModelConfig(params={"frequency_penalty": 1})


def test_reasoning_model_request_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    from synth.backends.openai_backend import OpenAIBackend
    from synth.generate import sample_tasks

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    config = resolve_model_config(REPO / "models" / "o3-mini.yaml")
    backend = OpenAIBackend(config)
    [task] = sample_tasks(backend, [ChatRequest(messages=[{"role": "user", "content": "hi"}])])
    args = backend.request_args(task)
    assert args["reasoning_effort"] == "high" and args["max_completion_tokens"] == 25000
    assert "temperature" not in args and "max_tokens" not in args and "n" not in args
    assert args["seed"] == 0 and args["model"] == "o3-mini"


def test_one_resolver_for_every_way_of_naming_a_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from synth.checkpoint import weights_fingerprint
    from synth.models import resolve_gguf, resolve_model_config

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "runs" / "sft"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"w")
    checkpoint = resolve_model_config("runs/sft", temperature=0.0)
    assert checkpoint.backend == "transformers" and checkpoint.model == str(folder)
    assert checkpoint.weights == weights_fingerprint(folder) and checkpoint.extra_body == {}
    assert checkpoint.params == {"temperature": 0.0}
    assert resolve_model_config("./runs/sft/") == resolve_model_config(str(folder))
    gguf = resolve_gguf(ModelConfig())
    assert resolve_model_config(str(gguf)).gguf == str(gguf.resolve())
    (tmp_path / "m.yml").write_text("backend: openai\nmodel: x\nbase_url: http://h/v1\n")
    assert resolve_model_config("m.yml").base_url == "http://h/v1"
    assert resolve_model_config({"model": "gemma3"}).model == "gemma3-270m"  # inline
    served = resolve_model_config("http://127.0.0.1:8080/v1#qwen3")
    assert (served.backend, served.base_url, served.model) == (
        "openai",
        "http://127.0.0.1:8080/v1",
        "qwen3",
    )
    # a retrained folder is another model; other configs keep the hash they always had
    assert checkpoint.config_hash() != checkpoint.model_copy(update={"weights": "x"}).config_hash()
    assert "weights" not in ModelConfig().request_identity()
    bad = {
        "runs/nope": "no checkpoint folder, model config or GGUF file",
        "gone.yaml": "model config file gone.yaml not found",
        "gone.gguf": "GGUF file not found",
        "nope": "no model config file or embedded model named 'nope'",
    }
    for spec, message in bad.items():
        with pytest.raises(FileNotFoundError, match=message):
            resolve_model_config(spec)
    (tmp_path / "runs" / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        resolve_model_config("runs/empty")
    (tmp_path / "list.yaml").write_text("- a\n")
    with pytest.raises(ValueError, match="expected a mapping"):
        resolve_model_config("list.yaml")
