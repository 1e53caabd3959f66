"""Tests of `forecast.engine`: kernels against naive references, determinism, backends."""
