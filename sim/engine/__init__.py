"""Engine layer: the outcome space, the agents, the world around the table, and the Mesa model."""
