"""Runs a Batch API generation in its own process (for the resume test): CACHE BASE_URL."""

import sys

from synth import ChatRequest, ModelConfig, RequestCache, generate

REQUESTS = [ChatRequest(messages=[{"role": "user", "content": f"q{i}"}], n=2) for i in range(3)]

if __name__ == "__main__":
    cache_path, base_url = sys.argv[1], sys.argv[2]
    config = ModelConfig(backend="openai", model="loopback", base_url=base_url, batch_api=True,
                         batch_poll_s=0.05)  # fmt: skip
    with RequestCache(cache_path) as cache:
        result = generate(config, REQUESTS, cache=cache)
    print(result.stats, flush=True)
