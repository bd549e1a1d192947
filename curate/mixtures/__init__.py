"""Mixture recipes resolved at one snapshot (`mix.build`) and their export (`export`)."""
