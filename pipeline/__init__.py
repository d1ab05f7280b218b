"""The babyweight TFX pipeline: settings, the DAG and its components."""


def __getattr__(name: str):
    """`pipeline.EdgeModel`, the edge artifact type by the name KFP records (pipeline/edge.py)."""
    if name == "EdgeModel":
        from pipeline.edge import EdgeModel

        return EdgeModel
    raise AttributeError(name)
