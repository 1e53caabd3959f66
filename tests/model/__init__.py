"""Tests of `forecast.model`: entities, presets, validation, strategy files."""
