"""Training Segue's learned fusion model (torch), apart from the engine that runs it.

Depends on `core` (the classical candidates the net fuses, `core.model.features`, the
benchmark reader); `core` never imports this package, and serving never imports torch.
`segue train` and `segue export` are its commands (docs/training.md).

Modules: `config` (TOML with ``extends``), `photos` and `synthetic` (scenes with exact
ground truth, context frames included), `footage` (the user's clips), `data` (pair cache
and batches), `net` (the torch module), `losses`, `validate` (PSNR per set on a benchmark
folder), `train` (the loop, checkpoints, exact resume), `export` (torch -> ONNX +
manifest), `heldout` (the held-out diagnosis).
"""
