"""The `neurona` command (also `python -m neurona`).

    neurona demo [--quick] [--out DIR]         the course's core labs on embedded data, with an HTML report
    neurona lab list | NAME [--quick]          every lab of the course, by name
    neurona train DATA.csv --target COLUMN     an MLP on a CSV file, saved with what predict needs
    neurona predict MODEL DATA.csv [--out F]   predictions for a CSV file
    neurona summary MODEL                      a saved model's layers
    neurona export MODEL --onnx OUT            the model as ONNX
    neurona info                               versions, BLAS, extras, cache folders
    neurona recommend RATINGS.csv --user U     top-N items for a user from a ratings file

Messages follow the language of the environment (LANG=es_ES.UTF-8 or NEURONA_LANG=es: Spanish). A mistake
in the input (a missing file, an unknown column, text in a numeric column) prints one line on stderr and
exits with code 2; Ctrl-C exits with 130 and leaves no half-written file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from ..i18n import _
from .errors import EXIT_INTERRUPTED, CliError, Interrupted, ctrl_c_ends_the_command, fail
from .parser import Parser


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, prefix if prefix is not None else _("usage: "))


def _localise(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser._positionals.title = _("positional arguments")
    parser._optionals.title = _("options")
    parser.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                        help=_("show this help message and exit"))
    return parser


def _subcommand(sub: Any, name: str, help_text: str, description: str | None) -> argparse.ArgumentParser:
    return _localise(sub.add_parser(name, help=help_text, description=description or help_text,
                                    formatter_class=_Formatter, add_help=False))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, its help in the current language."""
    from . import demo, info, train, use

    parser = _localise(Parser(
        prog="neurona", formatter_class=_Formatter, add_help=False,
        description=_("neurona: deep learning on NumPy, with the Keras workflow of the course."),
        epilog=_("Start with: neurona demo. Each command has --help.")))
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"neurona {__version__}",
                        help=_("show the version and exit"))
    sub = parser.add_subparsers(dest="command", metavar=_("COMMAND"), title=_("commands"))
    sub.required = True
    demo.add_parsers(sub, _subcommand)
    train.add_parser(sub, _subcommand)
    use.add_parsers(sub, _subcommand)
    info.add_parser(sub, _subcommand)
    from . import recommend

    recommend.add_parser(sub, _subcommand)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `neurona` and `python -m neurona`: returns the exit code."""
    with ctrl_c_ends_the_command():
        try:
            parser = build_parser()
            given = list(sys.argv[1:] if argv is None else argv)
            if not given:  # `neurona` alone: the help, not an error
                parser.print_help()
                return 0
            args = parser.parse_args(given)
            args.argv = given  # `train --processes` starts itself again
            return int(args.func(args) or 0)
        except CliError as e:
            return fail(str(e))
        except (Interrupted, KeyboardInterrupt):
            sys.stdout.flush()
            print("\n" + _("neurona: interrupted (Ctrl-C); no file was left half-written"), file=sys.stderr,
                  flush=True)
            return EXIT_INTERRUPTED
        except BrokenPipeError:  # `neurona predict ... | head`
            sys.stderr.close()
            return 1


__all__ = ["CliError", "build_parser", "main"]
