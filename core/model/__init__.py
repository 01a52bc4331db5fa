"""Segue's learned model at inference: fusion and refinement on top of the classical candidates.

`features` (numpy: the planes the net sees, shared with training) and `infer`
(onnxruntime only; what the engine runs). The shipped model lives in `weights/` (see
`infer.shipped_model_dir`). Training lives apart, in the top-level `training` package.
"""
