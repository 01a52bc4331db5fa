"""Segue's learned model: fusion and refinement on top of the classical candidates.

Layers (CONVENTIONS.md): `features` (numpy; shared by training and inference),
`net` (the torch module; training only), `export` (torch -> ONNX + manifest),
`infer` (onnxruntime only; what the engine runs). Serving never imports torch.

Training (`segue train`, docs/training.md): `config` (TOML), `photos` and `synthetic`
(scenes with exact ground truth), `footage` (the user's clips), `data` (pair cache and
batches), `losses`, `validate` (PSNR per set on a benchmark folder), `train` (the loop,
checkpoints, exact resume). The shipped model lives in `weights/` (see
`infer.shipped_model_dir`).
"""
