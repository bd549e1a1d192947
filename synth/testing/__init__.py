"""Test and benchmark helpers, never used by a stage: a fault-injecting OpenAI-compatible
server on loopback (`synth.testing.loopback`)."""
