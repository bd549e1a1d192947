"""Human review in Label Studio: push items as tasks, pull annotations into `reviews`, resolve
verdicts for mixtures and exports, and measure agreement.

    teachable review push --project audit --selection edge --sample 200
    teachable review pull --project audit
    teachable review report --project audit

Connection: LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY (quality.review.connection). A local
server for development and tests: `python -m quality.review.devserver start`.
"""
