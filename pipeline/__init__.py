"""The babyweight TFX pipeline: settings, the DAG and data staging."""
