"""One module per ``textssl`` subcommand; each defines ``register(subparsers)``."""
