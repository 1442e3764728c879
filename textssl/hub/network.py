"""Network errors of the Hugging Face Hub as one line: what could not be fetched, and the local alternative.

Used wherever textssl reaches the Hub (tokenizers, task data, models, pushes). The token is never part of a
message: only exception class names are kept, never their text (which can hold URLs).
"""

from __future__ import annotations

import os

from textssl.errors import ConfigError, HubError

_NETWORK_ERROR_NAMES = {
    "OfflineModeIsEnabled",
    "LocalEntryNotFoundError",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionError",
    "ReadTimeout",
    "Timeout",
    "TimeoutException",
    "NetworkError",
    "TransportError",
    "ProxyError",
    "SSLError",
    "gaierror",
}
_NETWORK_PHRASES = (
    "couldn't connect",
    "couldn't reach",
    "offline mode",
    "outgoing traffic has been disabled",
)


def _chain(exc: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and not any(exc is s for s in seen):
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def hub_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) means the Hub could not be reached at all:
    offline mode (``HF_HUB_OFFLINE=1``), no network, DNS failure, a timeout, or a file not in the local cache."""
    for e in _chain(exc):
        if isinstance(e, (ConnectionError, TimeoutError)) and not isinstance(e, HubError):
            return True
        if any(t.__name__ in _NETWORK_ERROR_NAMES for t in type(e).__mro__):
            return True
        if any(phrase in str(e).lower() for phrase in _NETWORK_PHRASES):
            return True
    return False


def hub_error(what: str, exc: BaseException, hint: str) -> HubError:
    """A one-line :class:`~textssl.errors.HubError`: the Hub is unreachable, so ``what`` failed; ``hint`` names
    the local alternative. Only the exception's class name is kept (its text can hold URLs, never needed here)."""
    names = [type(e).__name__ for e in _chain(exc)]
    cause = next((n for n in names if n in _NETWORK_ERROR_NAMES), names[-1] if names else "error")
    return HubError(
        f"the Hugging Face Hub is unreachable (offline mode or no network; {cause}): could not {what}",
        hint=hint,
    )


def require_online(what: str, hint: str) -> None:
    """Raise the one-line :class:`HubError` at once when offline mode (``HF_HUB_OFFLINE=1``) is on, before any
    work or file write that would only be followed by a failed network call."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:  # read from HF_HUB_OFFLINE when huggingface_hub is imported
        raise HubError(
            f"the Hugging Face Hub is unreachable (offline mode: HF_HUB_OFFLINE is set): could not {what}",
            hint=hint,
        )


def refused(what: str, exc: BaseException) -> HubError | None:
    """A one-line :class:`HubError` for an HTTP error answer of the Hub (bad token, no access, no such repo)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status is None:
        return None
    hints = {
        401: "the token was not accepted: set HF_TOKEN to a valid token with write access, or run `hf auth login`",
        403: "the token may not write to this repository: check the name and the token's permissions",
        404: "check the repository id (user-or-org/name)",
    }
    return HubError(
        f"the Hugging Face Hub refused to {what} (HTTP {status} {type(exc).__name__})",
        hint=hints.get(status, "check the repository id and your token, then try again"),
    )


def resolve_token(token: str | None) -> str:
    if token:
        return token
    if os.environ.get("HF_TOKEN"):
        return os.environ["HF_TOKEN"]
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise ConfigError(
            "no Hugging Face token: pass token=..., set the HF_TOKEN environment variable, or run `hf auth login`"
        )
    return found
