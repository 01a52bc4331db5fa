"""The ``segue-renderd`` command: ``serve`` runs the daemon, ``prune`` applies the retention
policy to a store no daemon holds. Exit codes: 0 done (stopped cleanly), 2 bad
configuration or a store in use, 1 internal failure."""
from __future__ import annotations

import argparse
import os
import sys
import textwrap

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2

DESCRIPTION = "segue-renderd: the Segue render daemon (gRPC service segue.render.v1.Render + grpc.health.v1)."

SERVE_EPILOG = textwrap.dedent("""\
    settings are layered: built-in defaults, then --config FILE (TOML, same names with
    underscores, e.g. `allow_root = ["/mnt/projects"]`), then the flags given here.

    security:
      * loopback (127.0.0.1, ::1, localhost) is the default; any other address
        refuses to start without --token-file and --allow-root.
      * every call (health included) must carry the metadata
        `authorization: Bearer <token>`; wrong or missing: UNAUTHENTICATED. The
        token is --token-file's, or else your own, created on the first start in
        ~/.config/segue/renderd.token (chmod 600): your segue CLI, Blender add-on
        and Resolve script send it by themselves, other users of this machine
        cannot. --no-token (loopback only) lets every local user in.
      * running as root is refused without --run-as-root: clients would reach
        every file of the machine.
      * --tls-cert/--tls-key serve TLS; without them the token crosses the network
        in clear text.
      * media, output, OCIO config and model paths must be absolute and, after
        symlinks and `..` are resolved, lie under an --allow-root folder
        (else PERMISSION_DENIED). No --allow-root: no restriction (loopback only).

    jobs:
      * stored in --store (SQLite); `kill -9` loses nothing: on the next start
        unfinished jobs resume and frames already written are kept, not re-rendered.
      * SIGTERM/SIGINT: health turns NOT_SERVING, running jobs stop at their next
        frame (they resume on the next start), calls in flight get --grace seconds.
      * retention: finished jobs older than --keep-days or beyond the newest
        --keep-jobs are deleted (with their frame records, not their files) at start
        and every hour; queued and running jobs never are. `segue-renderd prune`
        does the same on a stopped daemon's store.
      * a store that cannot be written (full disk): health is NOT_SERVING and no job
        starts until it can; then everything carries on without a restart.

    media: movies are read and written with the ffmpeg bundled with Segue (imageio-ffmpeg),
    or $SEGUE_FFMPEG's (6.0 or newer), checked before the daemon starts.

    logs: JSON lines on stderr (ts, level, logger, event, fields).

    clients: `segue transition|retime ... --server HOST:PORT` (token from
    $SEGUE_RENDERD_TOKEN_FILE, CA certificate from $SEGUE_RENDERD_TLS_CA), the
    Blender and Resolve plugins, or any gRPC client of proto/segue/render/v1/render.proto.
    See docs/renderd.md.
    """)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.print_usage(sys.stderr)
        print(f"segue-renderd: error: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (flags default to None so the config file can fill them)."""
    from segue.renderd.config import DEFAULT_LISTEN, ServeConfig, default_store

    d = ServeConfig(store=default_store())
    p = _Parser(prog="segue-renderd", description=DESCRIPTION)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    s = sub.add_parser("serve", help="run the daemon until SIGTERM", description=DESCRIPTION, epilog=SERVE_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--config", metavar="FILE", help="TOML file of settings (flags given here win)")
    s.add_argument("--listen", metavar="HOST:PORT",
                   help=f"address to serve on (default {DEFAULT_LISTEN}; port 0 picks a free one, "
                        "logged in the server.serving line)")
    s.add_argument("--store", metavar="DIR", help=f"job store folder (default {d.store})")
    s.add_argument("--workers", type=int, metavar="N",
                   help=f"jobs rendered at once, each worker with its own engine (default {d.workers}; "
                        "the engine already uses every core for one job)")
    s.add_argument("--token-file", metavar="F", help="file holding the bearer token clients must send "
                                                     "(>= 16 printable characters; keep it chmod 600)")
    s.add_argument("--tls-cert", metavar="F", help="PEM certificate (chain) to serve TLS with; needs --tls-key")
    s.add_argument("--tls-key", metavar="F", help="PEM private key of --tls-cert")
    s.add_argument("--no-token", action="store_true", default=None,
                   help="loopback only: accept calls without a token (every local user may then use the daemon "
                        "with your rights)")
    s.add_argument("--run-as-root", action="store_true", default=None,
                   help="start even as root (refused otherwise: clients could reach every file)")
    s.add_argument("--allow-root", metavar="DIR", action="append",
                   help="folder that media and output paths must lie in; repeat for several")
    s.add_argument("--queue-limit", type=int, metavar="N",
                   help=f"jobs that may wait for a worker; more: RESOURCE_EXHAUSTED (default {d.queue_limit})")
    s.add_argument("--max-watchers", type=int, metavar="N",
                   help=f"concurrent WatchJob streams; more: RESOURCE_EXHAUSTED (default {d.max_watchers})")
    s.add_argument("--max-message-bytes", type=int, metavar="N",
                   help=f"largest request accepted; larger: RESOURCE_EXHAUSTED (default {d.max_message_bytes})")
    s.add_argument("--max-pixels", type=int, metavar="N",
                   help=f"largest source frame in pixels (width x height; sides at most 16384): larger media "
                        f"is refused at submit, from its header (default {d.max_pixels:,}: 8K fits)")
    s.add_argument("--grace", type=float, metavar="SECONDS",
                   help=f"time calls in flight get to finish on shutdown (default {d.grace:g})")
    s.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                   help=f"least important log lines shown (default {d.log_level})")
    _retention_flags(s, d)
    pr = sub.add_parser("prune", help="delete old finished jobs from a store no daemon is using",
                        description="Apply the retention policy to the job store now (the daemon does it by itself "
                                    "at start and every hour). Refuses while a daemon holds the store.")
    pr.add_argument("--config", metavar="FILE", help="TOML file of settings, as for serve (flags given here win)")
    pr.add_argument("--store", metavar="DIR", help=f"job store folder (default {d.store})")
    _retention_flags(pr, d)
    return p


def _retention_flags(parser: argparse.ArgumentParser, d) -> None:
    parser.add_argument("--keep-days", type=float, metavar="N",
                        help=f"delete finished jobs that ended more than N days ago; 0: keep them whatever "
                             f"their age (default {d.keep_days:g})")
    parser.add_argument("--keep-jobs", type=int, metavar="N",
                        help=f"keep at most the newest N finished jobs; 0: no limit (default {d.keep_jobs})")


def cmd_serve(args: argparse.Namespace) -> int:
    """Load the configuration, then run the daemon until a signal stops it."""
    from segue.core.allocator import keep_frame_buffers
    from segue.core.errors import InputError
    from segue.core.media import find_ffmpeg
    from segue.renderd import logs
    from segue.renderd.auth import TokenError
    from segue.renderd.config import ConfigError, load_config
    from segue.renderd.server import Daemon, StartError
    from segue.renderd.store import StoreLocked

    flags = {k: v for k, v in vars(args).items() if k not in ("command", "config", "func")}
    if flags.get("allow_root") is not None:
        flags["allow_root"] = tuple(flags["allow_root"])
    try:
        # every refusal of the settings at once, the user it would run as included
        config = load_config(args.config, flags, euid=os.geteuid() if hasattr(os, "geteuid") else None)
        find_ffmpeg()  # a refused $SEGUE_FFMPEG stops the start, rather than every movie job later
        logs.setup(config.log_level)
        keep_frame_buffers()
        Daemon(config).serve(on_started=logs.capture_native_stderr)
    except (ConfigError, TokenError, StartError, StoreLocked, InputError) as exc:
        print(f"segue-renderd: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # e.g. the store folder cannot be created
        print(f"segue-renderd: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def cmd_prune(args: argparse.Namespace) -> int:
    """Open the store (refused while a daemon holds it) and apply the retention policy once."""
    from segue.renderd.config import ConfigError, load_config
    from segue.renderd.errors import StoreError
    from segue.renderd.store import DB_FILE, JobStore, StoreLocked

    flags = {k: v for k, v in vars(args).items() if k not in ("command", "config", "func")}
    try:
        config = load_config(args.config, flags)
        if not os.path.isfile(os.path.join(config.store, DB_FILE)):
            raise ConfigError(f"store: {config.store} holds no job store ({DB_FILE})")
        store = JobStore(config.store)
    except StoreLocked as exc:
        print(f"segue-renderd: error: {exc} (a running daemon prunes its own store at start and every hour)",
              file=sys.stderr)
        return EXIT_USAGE
    except (ConfigError, StoreError, OSError) as exc:
        print(f"segue-renderd: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        jobs, frames = store.prune(config.keep_days, config.keep_jobs)
    except StoreError as exc:
        print(f"segue-renderd: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()
    print(f"pruned {_count(jobs, 'finished job')} and {_count(frames, 'frame record')} from {store.path} "
          f"(keep_days {config.keep_days:g}, keep_jobs {config.keep_jobs})")
    return EXIT_OK


def _count(n: int, noun: str) -> str:
    """``1 finished job``, ``2 finished jobs``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``segue-renderd`` console script."""
    # gRPC's C core logs to stderr on its own; keep it to real errors so stderr stays JSON.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return cmd_serve(args)
    if args.command == "prune":
        return cmd_prune(args)
    return EXIT_USAGE  # pragma: no cover - argparse requires a command


if __name__ == "__main__":
    sys.exit(main())
