"""How the intake refuses an input: a reason an integrator can act on, and the element at fault."""

from __future__ import annotations


class Rejection(Exception):  # noqa: N818 (a rejection is an outcome, not a programming error)
    """An input, or one alert in it, is refused; `path` names the element or JSON path at fault."""

    def __init__(self, reason: str, path: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class Warnings(list[str]):
    """What was tolerated in an input; kept on the events it gives, for an operator to check."""

    def add(self, path: str, message: str) -> None:
        """Note one tolerated irregularity at `path`, once."""
        text = f"{path}: {message}"[:500]
        if text not in self:
            self.append(text)
