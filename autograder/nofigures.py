"""A matplotlib backend for graded runs nobody watches: figures are built as usual (student code
that plots still runs, and fails where it would fail) but never rendered to pixels; ``show()``
and the end of every cell close them. ``MPLBACKEND=module://autograder.nofigures``."""

from __future__ import annotations

from matplotlib.backend_bases import FigureManagerBase as FigureManager  # noqa: F401
from matplotlib.backends.backend_agg import FigureCanvasAgg as FigureCanvas  # noqa: F401


def close_all(*_args) -> None:
    import matplotlib.pyplot as plt

    plt.close("all")


def show(*_args, **_kwargs) -> None:
    """What ``plt.show()`` does here: forget the figures instead of drawing them."""
    close_all()


def _close_after_each_cell() -> None:
    """As the inline backend does, so figures made without ``show()`` do not pile up."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and close_all not in shell.events.callbacks["post_execute"]:
        shell.events.register("post_execute", close_all)


_close_after_each_cell()
