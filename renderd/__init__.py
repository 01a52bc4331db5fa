"""segue-renderd: the gRPC render daemon and its shared client.

Layers, one module each: `cli` (the ``segue-renderd`` command) -> `server` (gRPC server,
health, signals) -> `servicer` (protobuf <-> domain, status codes) -> `jobs` (job
service and workers) -> `core` (the engine). Beside them: `config`, `store` (SQLite),
`validation` and `paths` (what a request may ask for), `retime` (retime jobs: their
checks and attempts), `auth` and `wire` (interceptors: bearer token, undecodable
requests), `logs` (JSON lines), `client` (the one client, used by the editor plugins)
and `remote` (``segue transition|retime --server`` on top of it).

This package's ``__init__`` imports nothing on purpose: `renderd.client` must stay
importable with only grpcio, protobuf and the generated stubs (``renderd._proto``),
so that it can be vendored into an editor plugin without the engine.
"""
