"""Flag conventions shared by every ``textssl`` command.

* Dashes in flag names (``--max-steps``); each flag also answers to its underscore spelling (``--max_steps``),
  as users bring it from Hugging Face scripts. The aliases parse but stay out of ``--help``.
* One name for where a command writes: ``--output-dir`` (``--output``, the older name, stays a hidden alias).
* One boolean style: ``--x`` / ``--no-x`` (:class:`argparse.BooleanOptionalAction`); ``--x false`` is not
  accepted.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable

OUTPUT_DIR_ALIASES = ("--output",)


def add_hidden_aliases(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, action: argparse.Action, aliases: Iterable[str]
) -> None:
    """Make ``aliases`` parse as ``action`` without listing them in usage or help.

    argparse looks flags up in the parser's option table and prints ``action.option_strings``; an alias entered
    only in the table parses like the flag and is left out of the help. Aliases that already name a flag of the
    parser are skipped.
    """
    table = parser._option_string_actions  # shared by the parser and all its argument groups
    for alias in aliases:
        if alias not in table:
            table[alias] = action


def add_underscore_aliases(parser: argparse.ArgumentParser) -> None:
    """Give every ``--dashed-flag`` of ``parser`` (and of its subcommands) the hidden alias ``--dashed_flag``."""
    for action in list(parser._actions):
        if isinstance(action, argparse._SubParsersAction):
            for sub in set(action.choices.values()):
                add_underscore_aliases(sub)
            continue
        aliases = [
            "--" + flag[2:].replace("-", "_")
            for flag in action.option_strings
            if flag.startswith("--") and "-" in flag[2:]
        ]
        add_hidden_aliases(parser, action, aliases)


def add_output_dir(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    help: str,
    *,
    dest: str = "output",
    required: bool = False,
    default: str | None = None,
) -> argparse.Action:
    """The ``--output-dir DIR`` flag (hidden alias ``--output``), stored in ``args.<dest>``."""
    action = parser.add_argument(
        "--output-dir", dest=dest, metavar="DIR", required=required, default=default, help=help
    )
    add_hidden_aliases(parser, action, OUTPUT_DIR_ALIASES)  # a group shares its parser's option table
    return action


class Switch(argparse.BooleanOptionalAction):
    """``--x`` / ``--no-x``; the underscore spellings ``--no_x`` (a hidden alias) also mean off."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[override]
        if option_string in self.option_strings or option_string is None:
            super().__call__(parser, namespace, values, option_string)
        else:
            setattr(namespace, self.dest, not option_string.startswith(("--no-", "--no_")))


def add_switch(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    flag: str,
    help: str,
    *,
    default: bool | None = False,
    dest: str | None = None,
) -> argparse.Action:
    """A boolean ``--flag`` / ``--no-flag``; ``default=None`` keeps a config file's value unless one is given."""
    kwargs = {"dest": dest} if dest else {}
    if isinstance(default, bool) and "(default" not in help:
        help = f"{help} (default: {'on' if default else 'off'})"
    return parser.add_argument(flag, action=Switch, default=default, help=help, **kwargs)
