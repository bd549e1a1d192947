"""`teachable eval`: a model x benchmarks x N samples, scored by the project's answer checker,
summarized the way the strongest open evaluators report accuracy (avg@N with its spread, maj@N,
pass@k), and `teachable report eval` over the results."""
