"""The vectorized hot paths shared by decontamination, dedup and the trace scorers: word
tokens and their hashes (`tokens`), n-gram probes (`ngrams`), MinHash signatures (`minhash`),
LSH banding (`lsh`), and running a kernel over every core or a Ray cluster (`parallel`, `ray`)."""
