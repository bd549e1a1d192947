"""SFT and GRPO on exported mixtures (TRL on transformers), Phi-4-reasoning style.

Entry points: `teachable train sft|grpo CONFIG`, `python -m train.sft|train.grpo --config X`,
`teachable report train RUN`. Nothing here imports torch at package import time.
"""
