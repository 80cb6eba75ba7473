"""REST sources that log in for a session and answer every call with an error_code (0 success,
1 bad credentials, 2 session expired — the one-stop and GPLX conventions)."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from connectors.errors import AuthError, ContractError
from connectors.rest_source import RestConnector

log = logging.getLogger(__name__)

OK, BAD_CREDENTIALS, SESSION_EXPIRED = 0, 1, 2

Reply = dict[str, Any]


class SessionConnector(RestConnector):
    """A REST source with a login and one service endpoint, from its declarations: ``system``,
    ``login_path``, ``service_path``; its overrides say how the login and a call are written
    (``login_request``, ``service_body``) and how a reply's code and message are read."""

    system: ClassVar[str]  # as log lines and errors name it
    login_path: ClassVar[str]
    service_path: ClassVar[str]

    def login_request(self) -> tuple[Reply, dict[str, str] | None]:
        """The login's body and headers."""
        raise NotImplementedError

    def service_body(self, service: str, params: Reply) -> Reply:
        """The body of a call of ``service`` in the current session."""
        raise NotImplementedError

    def unit(self) -> str:
        """The calling unit, as the login's log line and errors name it ("dstcode ...")."""
        raise NotImplementedError

    def error_code(self, reply: Reply, operation: str) -> int:
        raise NotImplementedError

    def message(self, reply: Reply) -> str:
        raise NotImplementedError

    def call(self, service: str, params: Reply) -> Reply:
        """One service call; an expired session is renewed once and the call repeated."""
        if self._session is None:
            self._login()
        for attempt in (1, 2):
            try:
                # Built on each attempt, so that the repeat carries the new session.
                reply = self._client.post_json(
                    self.service_path, self.service_body(service, params)
                )
            except AuthError as exc:
                # A 401 still carries the reason: only "session expired" is worth a new login.
                if not self._says_expired(exc.payload):
                    raise
                reply = exc.payload
            code = self.error_code(reply, service)
            if code == OK:
                return reply
            if code == SESSION_EXPIRED and attempt == 1:
                log.info("%s session expired during %s; logging in again", self.system, service)
                self._login()
                continue
            if code == SESSION_EXPIRED:
                raise AuthError(f"{service}: session expired again right after a fresh login")
            if code == BAD_CREDENTIALS:
                raise AuthError(f"{service}: rejected ({self.message(reply)})")
            raise ContractError(f"{service} failed with error_code {code}", payload=reply)
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _login(self) -> None:
        user = self._connection.login
        body, headers = self.login_request()
        refused = f"{self.system} login refused for user {user!r} at {self.unit()}"
        try:
            reply = self._client.post_json(self.login_path, body, headers=headers)
        except AuthError as exc:
            raise AuthError(refused, status=exc.status, payload=exc.payload) from None
        code = self.error_code(reply, "login")
        if code == BAD_CREDENTIALS:
            raise AuthError(f"{refused} ({self.message(reply)})")
        if code != OK:
            raise ContractError(f"login failed with error_code {code}", payload=reply)
        session = reply.get("session")
        if not isinstance(session, str) or not session:
            raise ContractError("login reply has no session token", payload=reply)
        self._session = session
        log.info("logged in to the %s API as %r (%s)", self.system, user, self.unit())

    def _says_expired(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        try:
            return self.error_code(payload, "reply") == SESSION_EXPIRED
        except ContractError:
            return False
