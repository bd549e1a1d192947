"""Teachability: proxy answers, weak-model difficulty with adaptive sampling, rewriting into
verifiable questions, and named selections of seeds at the edge of a model's ability."""
