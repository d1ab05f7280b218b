"""Kubeflow Pipelines: the KFP v2 REST client (`babyweight kfp`) and the local spec runner."""
