"""Tests of `kernels`: random streams, the on-disk cache."""
