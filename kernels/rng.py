"""Counter-based random streams keyed by meaning.

A stream is a 64-bit key; draw ``i`` of a stream is ``mix64(key + i * GOLDEN)`` (the SplitMix64
output function applied to a counter), so any draw is a pure function of (key, i) and can be
computed in any order, on any thread. Keys are derived by hashing what a draw is *for*:
(seed, path, session, purpose, item). This is what makes results independent of thread count
and chunking, gives the prefix property (path i is the same in runs of any size), and lets two
strategies that share a session use the same draws for it (common random numbers).

Streams with distinct keys could only overlap if two keys differed by a multiple of GOLDEN
within the counters used; keys are 64-bit hashes, so for 2^40 draws per stream the chance
for any pair is below 2^-23 and is ignored.
"""

from __future__ import annotations

import numpy as np

from kernels.options import jit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_DERIVE = np.uint64(0xD1B54A32D192ED03)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_M53 = 1.0 / 9007199254740992.0  # 2**-53


@jit
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64 finaliser: a bijective avalanche of 64 bits."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@jit
def derive(key: np.uint64, value: np.int64) -> np.uint64:
    """Key of the sub-stream ``value`` of stream ``key`` (value >= 0)."""
    return mix64(key ^ mix64((np.uint64(value) + np.uint64(1)) * _DERIVE))


@jit
def bits(key: np.uint64, ctr: np.int64) -> np.uint64:
    """Draw number ``ctr`` of stream ``key`` as 64 random bits."""
    return mix64(key + np.uint64(ctr) * GOLDEN)


@jit
def uniform(key: np.uint64, ctr: np.int64) -> float:
    """Draw number ``ctr`` of stream ``key`` as a double in the open interval (0, 1)."""
    return (float(bits(key, ctr) >> _S11) + 0.5) * _TWO_M53


@jit
def normal(key: np.uint64, ctr: np.int64) -> float:
    """Standard normal from draws ``2*ctr`` and ``2*ctr+1`` (Box-Muller, cosine branch)."""
    u1 = uniform(key, 2 * ctr)
    u2 = uniform(key, 2 * ctr + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
