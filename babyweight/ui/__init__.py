"""The Kubeflow Pipelines UI over runs made on this machine: its build, and the backends it calls."""
