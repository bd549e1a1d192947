"""Runs the traces stage in its own process (for the crash test): STORE BASE_URL SAMPLES."""

import sys

from store import Store
from synth.models import ModelConfig
from synth.traces import TracesConfig, run_traces

if __name__ == "__main__":
    store_path, base_url, samples = sys.argv[1], sys.argv[2], int(sys.argv[3])
    teacher = ModelConfig(backend="openai", model="loopback", base_url=base_url, concurrency=2)
    store = Store.open(store_path)
    print(run_traces(store, TracesConfig(teacher=teacher, samples=samples)), flush=True)
    store.close()
