"""The one exception the flow raises on purpose: a refusal the user sees as a dialog."""
from __future__ import annotations


class Refusal(Exception):
    """Segue cannot (or will not) do what was asked; ``message`` says why and what to do.

    Raised before anything in Resolve changes, so showing the message is all the
    handling a refusal needs.
    """

    def __init__(self, title: str, message: str) -> None:
        super().__init__(f"{title}: {message}")
        self.title = title
        self.message = message
