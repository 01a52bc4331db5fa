"""Segue's learned model: fusion and refinement on top of the classical candidates.

Layers (CONVENTIONS.md): `features` (numpy; shared by training and inference),
`net` (the torch module; training only), `export` (torch -> ONNX + manifest),
`infer` (onnxruntime only; what the engine runs). Serving never imports torch.
"""
