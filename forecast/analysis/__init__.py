"""Questions asked of many runs: compare, calibrate to past sessions, predict sessions."""
