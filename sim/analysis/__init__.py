"""Analysis: bargaining geometry of a scenario, sensitivity of its results, scores of its forecasts."""
