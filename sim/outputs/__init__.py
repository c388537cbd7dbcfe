"""Outputs layer: files, plots, reports and narratives made from experiment results."""
