"""The transformers backend: checkpoint identity (no torch needed), and on the real SmolLM2
(dequantized from its GGUF, cached outside the repo) per-sample seeds inside a batch, greedy
decoding against transformers' own, stop strings, lengths and raw prompts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synth.backends import ChatRequest, get_backend
from synth.backends.transformers_backend import model_source
from synth.checkpoint import local_folder, weights_fingerprint, with_weights_identity
from synth.generate import generate
from synth.models import ModelConfig


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "checkpoint-2").mkdir()  # a resumable checkpoint inside: not the model
    (folder / "trainer_state.json").write_text("{}")  # nor the trainer's state
    return folder


def test_fingerprint_follows_the_weight_files(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    first = weights_fingerprint(folder)
    assert weights_fingerprint(folder) == first
    (folder / "checkpoint-2" / "model.safetensors").write_bytes(b"other")
    (folder / "trainer_state.json").write_text('{"global_step": 3}')
    (folder / "training_args.bin").write_bytes(b"args")
    assert weights_fingerprint(folder) == first
    stat = (folder / "model.safetensors").stat()
    os.utime(folder / "model.safetensors", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert weights_fingerprint(folder) != first  # rewritten in place: a new model
    (folder / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no model weights"):
        weights_fingerprint(folder)


def test_identity_of_local_folders_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    config = with_weights_identity(ModelConfig(backend="transformers", model="ckpt"))
    assert config.model == str(folder) and config.weights == weights_fingerprint(folder)
    assert config.extra_body == {}  # the fingerprint is the config's identity, not a request field
    assert local_folder(ModelConfig(backend="transformers", model="org/name")) is None
    assert with_weights_identity(ModelConfig()) == ModelConfig()
    (folder / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        model_source(ModelConfig(backend="transformers", model=str(folder)))


QUESTION = [{"role": "user", "content": "Name three colors."}]


@pytest.fixture(scope="module")
def backend():
    import torch

    torch.set_num_threads(1)  # see train/presets/cpu_smoke_sft.yaml: 2 threads crawl here
    opened = get_backend(ModelConfig(backend="transformers", concurrency=4))
    yield opened
    opened.close()


@pytest.mark.slow
def test_a_sample_is_the_same_alone_and_in_a_batch(backend) -> None:
    requests = [
        ChatRequest(messages=QUESTION, seed=s, temperature=1.0, max_tokens=12) for s in (1, 2, 3)
    ]
    requests.append(ChatRequest(messages=[{"role": "user", "content": "Hi"}], max_tokens=12))
    batched = [row[0].text for row in generate(backend, requests).completions]
    alone = generate(backend, requests[1:2]).completions[0][0].text
    assert alone == batched[1]
    assert len(set(batched[:3])) >= 2  # different seeds, different samples


@pytest.mark.slow
def test_greedy_matches_transformers_and_stop_strings_cut(backend) -> None:
    import torch

    tok, model = backend.tokenizer, backend.model
    prompt = tok.apply_chat_template(QUESTION, add_generation_prompt=True, tokenize=False)
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=10, do_sample=False)
    expected = tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    request = ChatRequest(messages=QUESTION, temperature=0, max_tokens=10)
    completion = generate(backend, [request]).completions[0][0]
    assert completion.text == expected.strip()
    assert completion.finish_reason == "length" and completion.completion_tokens == 10
    assert completion.prompt_tokens == ids["input_ids"].shape[1]
    stop = expected.strip().split()[2]  # the third word of the greedy answer
    cut = generate(
        backend, [ChatRequest(messages=QUESTION, temperature=0, max_tokens=10, stop=[stop])]
    ).completions[0][0]
    assert cut.text == expected.strip()[: expected.strip().find(stop)].strip()
    assert cut.finish_reason == "stop"


@pytest.mark.slow
def test_raw_prompts(backend) -> None:
    result = generate(backend, [ChatRequest(prompt="Question: 2 + 2 =\nAnswer:", max_tokens=4)])
    completion = result.completions[0][0]
    assert completion.ok and completion.completion_tokens >= 1 and completion.latency_s > 0


@pytest.mark.gpu
@pytest.mark.slow
def test_on_a_gpu_seeded_rows_reproduce() -> None:
    gpu = get_backend(ModelConfig(backend="transformers", concurrency=4))
    try:
        assert gpu.device == "cuda"
        requests = [
            ChatRequest(messages=QUESTION, seed=s, temperature=1.0, max_tokens=12) for s in (1, 2)
        ]
        first = [row[0].text for row in generate(gpu, requests).completions]
        again = [row[0].text for row in generate(gpu, requests).completions]
        assert first == again and all(first)
    finally:
        gpu.close()
