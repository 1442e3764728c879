"""Progress output that stays short when stderr is not a terminal.

On a terminal, :func:`progress_bar` is a tqdm bar. Redirected to a file or a pipe (a batch job's log, CI), a
tqdm bar writes a carriage-return update for every refresh -- hundreds of kilobytes for a short run -- so
:class:`LineProgress` writes one plain line every 10% of the run instead (plus the lines the caller writes).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default: stderr) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


class LineProgress:
    """The part of tqdm's interface the training loops use, printing one line per ``every`` of ``total``.

    ``update``, ``set_postfix``, ``write``, ``close`` and the ``n``/``total`` attributes behave as in tqdm; a
    line is printed when the count crosses the next multiple of ``every * total`` and at the end.
    """

    def __init__(
        self,
        total: int | float | None = None,
        desc: str = "",
        initial: int | float = 0,
        unit: str = "it",
        disable: bool = False,
        every: float = 0.1,
        file: TextIO | None = None,
        **_: Any,
    ) -> None:
        self.total = total
        self.desc = desc
        self.n = initial
        self.unit = unit
        self.disable = disable
        self.every = every
        self.file = file
        self.postfix: dict[str, Any] = {}
        self._start = time.perf_counter()
        self._next = self._threshold_after(initial)
        self._last_printed: float | None = None

    def _threshold_after(self, n: float) -> float:
        if not self.total:
            return float("inf")
        step = max(self.total * self.every, 1)
        return (int(n // step) + 1) * step

    def _line(self) -> str:
        elapsed = time.perf_counter() - self._start
        head = f"{self.desc}: " if self.desc else ""
        if self.total:
            count = f"{self.n:g}/{self.total:g} {self.unit} ({100 * self.n / self.total:.0f}%)"
        else:
            count = f"{self.n:g} {self.unit}"
        post = ", ".join(f"{k}={v}" for k, v in self.postfix.items())
        return f"{head}{count}, {elapsed:.0f}s" + (f", {post}" if post else "")

    def _emit(self, text: str) -> None:
        print(text, file=self.file if self.file is not None else sys.stderr, flush=True)

    def _maybe_print(self) -> None:
        if self.disable or self.n < self._next:
            return
        self._emit(self._line())
        self._last_printed = self.n
        self._next = self._threshold_after(self.n)

    def update(self, n: int | float = 1) -> None:
        self.n += n
        self._maybe_print()

    def set_postfix(
        self, ordered_dict: dict[str, Any] | None = None, refresh: bool = True, **kwargs: Any
    ) -> None:
        self.postfix = {**(ordered_dict or {}), **kwargs}

    def write(self, text: str, file: TextIO | None = None, **_: Any) -> None:
        if not self.disable:
            print(text, file=file if file is not None else sys.stdout, flush=True)

    def refresh(self) -> None:
        self._maybe_print()

    def close(self) -> None:
        if not self.disable and self._last_printed != self.n and self.n > 0:
            self._emit(self._line())
            self._last_printed = self.n
        self.disable = True

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def progress_bar(**kwargs: Any):
    """A tqdm bar on a terminal; a :class:`LineProgress` (a line per 10%) when stderr is redirected.

    Takes tqdm's keyword arguments (``total``, ``desc``, ``initial``, ``unit``, ``disable``).
    """
    if is_terminal(kwargs.get("file")):
        from tqdm.auto import tqdm

        return tqdm(**kwargs)
    return LineProgress(**kwargs)
