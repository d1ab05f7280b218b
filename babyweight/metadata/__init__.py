"""Tools that read a run back from ML Metadata and its artifacts: summary, report, lineage,
progress."""
