"""One module per `streams` subcommand: add_parser(subparsers) registers it, run(args) runs it."""
