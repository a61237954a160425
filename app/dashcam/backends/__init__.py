"""Inference backends: each takes the preprocessed NCHW blob and returns (cov, bbox).

A backend has ``spec`` (a ``dashcam.model.ModelSpec``), ``infer(blob)`` and
``close()``; ``name`` and ``precision`` are recorded with every run.
"""
