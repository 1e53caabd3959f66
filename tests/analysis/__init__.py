"""Tests of `forecast.analysis`: compare, and the findings of MODEL.md built on it."""
