// Faults, throttling and the daily quota end to end against the simulator (issue 3).
