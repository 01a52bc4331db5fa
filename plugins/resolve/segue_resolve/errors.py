"""The one exception the flow raises on purpose: a refusal the user sees as a dialog."""
from __future__ import annotations


class Refusal(Exception):
    """Segue cannot (or will not) do what was asked; ``message`` says why and what to do.

    ``message`` is for the editor, in plain words; ``detail`` (optional) is the technical
    cause (the daemon's status and text), shown as a secondary line under it, never as the
    message itself. Raised before anything in Resolve changes, so showing the message is
    all the handling a refusal needs.
    """

    def __init__(self, title: str, message: str, detail: str = "") -> None:
        super().__init__(f"{title}: {message}" + (f" ({detail})" if detail else ""))
        self.title = title
        self.message = message
        self.detail = detail
