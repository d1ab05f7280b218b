"""The Kubeflow Pipelines UI over runs made here: its build, and the backends it calls."""
