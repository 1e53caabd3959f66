"""How it is simulated: compile, arrivals, stay, cohort plan, blocks, backends, run."""
