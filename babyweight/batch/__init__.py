"""Batch prediction on Beam: the job, its readers and writers, its record in ML Metadata."""
