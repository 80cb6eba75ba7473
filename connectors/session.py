"""Calls to a REST source that logs in for a session and answers every call with an error_code
(0 success, 1 bad credentials, 2 session expired — the one-stop and GPLX conventions)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from connectors.errors import AuthError, ContractError

log = logging.getLogger(__name__)

OK, BAD_CREDENTIALS, SESSION_EXPIRED = 0, 1, 2

Reply = dict[str, Any]


def call_in_session(
    send: Callable[[], Reply],
    *,
    operation: str,
    system: str,
    error_code: Callable[[Reply, str], int],
    message: Callable[[Reply], str],
    relogin: Callable[[], None],
) -> Reply:
    """One call; an expired session is renewed once (`relogin`) and the call repeated.

    `send` builds the request when called, so the repeat carries the new session.
    """
    for attempt in (1, 2):
        try:
            reply = send()
        except AuthError as exc:
            # A 401 still carries the reason: only "session expired" is worth a new login.
            if not _says_expired(exc.payload, error_code):
                raise
            reply = exc.payload
        code = error_code(reply, operation)
        if code == OK:
            return reply
        if code == SESSION_EXPIRED and attempt == 1:
            log.info("%s session expired during %s; logging in again", system, operation)
            relogin()
            continue
        if code == SESSION_EXPIRED:
            raise AuthError(f"{operation}: session expired again right after a fresh login")
        if code == BAD_CREDENTIALS:
            raise AuthError(f"{operation}: rejected ({message(reply)})")
        raise ContractError(f"{operation} failed with error_code {code}", payload=reply)
    raise AssertionError("unreachable: the second attempt returns or raises")


def _says_expired(payload: Any, error_code: Callable[[Reply, str], int]) -> bool:
    if not isinstance(payload, dict):
        return False
    try:
        return error_code(payload, "reply") == SESSION_EXPIRED
    except ContractError:
        return False
