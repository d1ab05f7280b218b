"""The babyweight model: the Transform-aware Keras model, its run_fn and its signatures.

Feature names come from `babyweight.features`, which the pipeline, Transform and the tools share.
"""
