"""Monitoring of served requests: training-serving skew and drift (babyweight skew)."""
