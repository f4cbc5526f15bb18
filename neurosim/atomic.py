"""Output files replaced atomically: written whole beside their final name, flushed to disk, then renamed over
it, so a process killed at any moment, or a full disk, leaves the previous file (or none) and never a part.

The temporary file's name holds the writer's process id (``.NAME.PID.XXXX.tmp``); temporary files of the same
output left by processes no longer running are removed after each write, never another live process's.
"""

from __future__ import annotations

import errno
import glob
import io
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import NeurosimError


class OutputError(NeurosimError, OSError):
    """An output file (a table, a figure, a report) could not be written; the message names it."""


def replace_atomically(path: str | os.PathLike, data: bytes, what: str = "file",
                       error: type[Exception] = OutputError) -> Path:
    """Write ``data`` to ``path`` atomically (module docstring). An OSError (a full disk, a vanished directory)
    becomes ``error`` naming the file and saying that the previous ``what`` is intact (or that there was none).
    A ``path`` that is a symbolic link is followed: the file it points to is replaced, the link kept."""
    with _replacing(path, what, error, size=len(data)) as (fd, _):
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(os.path.realpath(path))


@contextmanager
def replaced_whole(path: str | os.PathLike, what: str = "file", error: type[Exception] = OutputError):
    """A temporary path beside ``path`` for a writer that streams a large file (a netlist of millions of lines):
    renamed over ``path`` when the block ends without an error, removed otherwise, so a full disk or a kill
    leaves the previous file (or none), never a part. An OSError becomes ``error`` naming the file."""
    with _replacing(path, what, error) as (fd, tmp):
        os.close(fd)
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())


@contextmanager
def _replacing(path: str | os.PathLike, what: str, error: type[Exception], size: int | None = None):
    """The one mechanism of :func:`replace_atomically` and :func:`replaced_whole`: a temporary file beside the
    real file ``path`` names (a symbolic link followed), yielded as (open descriptor, name) for the block to
    write, then given an ordinary file's permissions and renamed over it; removed if the block fails. An OSError
    becomes ``error`` naming the file, the space ``size`` bytes need on a full disk, and whether a previous file
    is intact. Temporary files of the same output left by dead processes are removed after each write."""
    path = Path(os.path.realpath(path))
    kept = f"the previous {what} is intact" if path.exists() else f"no {what} was written"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise error(f"{path}: could not write the {what} ({err}); {kept}") from err
    try:
        yield fd, tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; an output gets any file's permissions
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        room = ""
        if err.errno == errno.ENOSPC and size is not None:
            room = f"; it needs {_size(size)}, {_size(shutil.disk_usage(path.parent).free)} are free"
        raise error(f"{path}: could not write the {what} ({err}){room}; {kept}") from err
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        if not _writer_alive(stale.name[len(path.name) + 2 :].split(".")[0]):
            stale.unlink(missing_ok=True)  # left by a process killed mid-write


def _size(n: int) -> str:
    """A byte count for a message: KiB below 1 MiB (a small run file is not '0.0 MiB'), else MiB."""
    return f"{n / 2**10:.1f} KiB" if n < 2**20 else f"{n / 2**20:.1f} MiB"


def write_text_atomically(path: str | os.PathLike, text: str, what: str = "file") -> Path:
    """:func:`replace_atomically` for text (UTF-8)."""
    return replace_atomically(path, text.encode(), what)


def save_figure(fig, path: str | os.PathLike, **options) -> Path:
    """A matplotlib figure saved as PNG to ``path`` atomically (rendered in memory first)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", **options)
    return replace_atomically(path, buffer.getvalue(), "figure")


def _writer_alive(pid: str) -> bool:
    """Whether the process ``pid`` (a temporary file's writer, as text) is still running; False for a name
    without a process id (written by an earlier version)."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def csv_text(rows: list[dict], columns: list[str], digits: int = 6) -> str:
    """``rows`` as CSV text with a header of ``columns`` (for :func:`write_text_atomically`), floats to ``digits``
    significant digits (0.30000000000000004 as 0.3; the HDF5 tables keep every digit)."""
    import csv

    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows([{k: f"{v:.{digits}g}" if isinstance(v, float) else v for k, v in row.items()} for row in rows])
    return buffer.getvalue()
