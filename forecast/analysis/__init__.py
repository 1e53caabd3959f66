"""Questions asked of many runs: compare strategies on common random numbers."""
