"""Reading the TOML files users write (configurations, hardware settings, sweep grids)."""

from __future__ import annotations

import tomllib
from pathlib import Path


def read_toml(path: str | Path, error: type[Exception], kind: str) -> dict:
    """The tables of the TOML file ``path``; raises ``error`` naming the file when it is missing ("no such
    ``kind`` file"), unreadable, or not TOML."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such {kind} file") from None
    except OSError as err:
        raise error(f"{path}: cannot be read ({err.strerror})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise error(f"{path}: not a TOML file ({err})") from None
