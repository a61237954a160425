"""Progress for the long commands (synth, evaluate, export): one line on stderr, rewritten in
place, only when stderr is a terminal, so that piped and logged output stays clean."""

import contextlib
import sys
import time


class TerminalProgress:
    """One line on a terminal, rewritten at most ten times a second: percent, how much of the
    total (``amount`` formats a figure: ``str`` by default, ``human_bytes`` for bytes), what."""

    def __init__(self, stream, clock=time.monotonic, amount=str):
        self.stream, self.clock, self.amount = stream, clock, amount
        self._last, self._width = 0.0, 0

    def __call__(self, done, total, what):
        now = self.clock()
        if now - self._last < 0.1 and done < total:
            return
        self._last = now
        line = "{:3.0f}% {} of {}: {}".format(100.0 * done / total if total else 100.0,
                                              self.amount(done), self.amount(total), what)
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def end(self):
        if self._width:
            self.stream.write("\n")
            self.stream.flush()


@contextlib.contextmanager
def terminal_progress(amount=str, stream=None):
    """``with terminal_progress() as show:`` a ``TerminalProgress`` on ``stream`` (stderr) when
    it is a terminal, else None; its line is ended on leaving."""
    stream = stream or sys.stderr
    show = TerminalProgress(stream, amount=amount) if stream.isatty() else None
    try:
        yield show
    finally:
        if show:
            show.end()


def counted(items, total, progress, what):
    """``items``, telling ``progress(done, total, what)`` (if given) as each one is done."""
    if progress:
        progress(0, total, what)
    for done, item in enumerate(items, 1):
        yield item
        if progress:
            progress(done, total, what)
