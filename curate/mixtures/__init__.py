"""Mixture recipes resolved at one snapshot (`mix.build`); curate.export writes them out."""
