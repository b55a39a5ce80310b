"""Files that hold secrets or records: written in one step, never readable beyond their mode."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace `path` with `text` at once: a reader sees the old file or the new, never half, and
    the file is never readable beyond `mode` (the temporary one included)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), mode)  # the umask may have narrowed it; never widened
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
