"""Prompt files of synth stages (package data)."""
