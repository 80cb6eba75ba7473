"""Connection settings read from Airflow's ``AIRFLOW_CONN_<ID>`` environment form (URI or JSON).

Works the same with or without Airflow, so a sync can run from the command line. This module
never logs, and a ``Connection``'s repr masks the password and secret-looking extras.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from connectors.errors import is_secret_key

ENV_PREFIX = "AIRFLOW_CONN_"
EXTRA_KEY = "__extra__"  # Airflow's query parameter carrying the whole extra as JSON
_JSON_FIELDS = {"conn_type", "host", "port", "login", "password", "schema", "extra", "description"}
_MASK = "***"


class ConnectionNotConfigured(Exception):
    """The connection is missing or malformed; the message says what to set."""


@dataclass(frozen=True)
class Connection:
    """One remote system's address and credentials, shaped like an Airflow connection."""

    conn_id: str
    conn_type: str = "http"
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False)
    # Hosts the demo may reach over plain http (its stand-ins, by container name): given by the
    # caller from the settings (LIENTHONG_DEMO=1 with LIENTHONG_DEMO_PLAIN_HTTP_HOSTS), else none.
    plain_http_hosts: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __repr__(self) -> str:
        extra = {k: _MASK if is_secret_key(k) else v for k, v in self.extra.items()}
        return (
            f"Connection(conn_id={self.conn_id!r}, conn_type={self.conn_type!r}, "
            f"host={self.host!r}, port={self.port!r}, login={self.login!r}, "
            f"password={_MASK if self.password else None!r}, schema={self.schema!r}, "
            f"extra={extra!r})"
        )

    __str__ = __repr__

    @property
    def base_url(self) -> str:
        """``scheme://host[:port][/schema]``; the schema is a path prefix (e.g. ``/one_stop``).

        https unless the host is loopback; plain http asked for another host is refused (the
        login, password and tokens would cross the network in clear).
        """
        if not self.host:
            raise ConnectionNotConfigured(f"connection {self.conn_id!r} has no host")
        host, embedded_scheme = self.host, None
        if "://" in host:  # Airflow lets the host carry its protocol: "https://example.org"
            embedded_scheme, host = host.split("://", 1)
        host = host.strip("/")
        # Encrypted by default: a connection type of "http" is Airflow's name for any HTTP
        # connection, not a request for plain text; only loopback goes without TLS unasked.
        default = "http" if is_loopback(host) else "https"
        conn_scheme = "https" if self.conn_type == "https" else default
        scheme = str(self.extra.get("protocol") or embedded_scheme or conn_scheme).lower()
        if scheme not in ("http", "https"):
            raise ConnectionNotConfigured(
                f"connection {self.conn_id!r}: protocol must be http or https, not {scheme!r}"
            )
        if scheme == "http" and not plain_http_allowed(host, self.plain_http_hosts):
            raise ConnectionNotConfigured(
                f"connection {self.conn_id!r}: plain http to {host!r} would send its credentials "
                "unencrypted, which lienthong does only to loopback (127.0.0.0/8, ::1, localhost); "
                "use https (extra protocol=https, or no protocol at all)"
            )
        if _is_ipv6(host):
            host = f"[{host}]"
        netloc = f"{host}:{self.port}" if self.port else host
        path = (self.schema or "").strip("/")
        return f"{scheme}://{netloc}" + (f"/{quote(path, safe='/')}" if path else "")

    @property
    def verify(self) -> bool | str:
        """TLS verification for requests: a CA bundle path from ``extra.ca_bundle``, else True.

        There is deliberately no way to turn verification off, and an ``extra`` that tries
        (``verify: false``, ``insecure: true`` …, as other tools' connections spell it) is
        refused rather than silently ignored: its author must learn that it has no effect.
        """
        for key, value in self.extra.items():
            if _turns_tls_off(str(key), value):
                raise ConnectionNotConfigured(
                    f"connection {self.conn_id!r}: extra {key}={value!r} would turn TLS "
                    "verification off, which lienthong does not do; remove it, and give a "
                    "private CA's certificate as extra ca_bundle instead"
                )
        bundle = self.extra.get("ca_bundle")
        if not bundle:
            return True
        if not Path(bundle).is_file():
            raise ConnectionNotConfigured(
                f"connection {self.conn_id!r}: ca_bundle {bundle!r} is not a readable file"
            )
        return str(bundle)

    @property
    def timeouts(self) -> dict[str, float]:
        """Connect/read timeouts in seconds from ``extra`` (``connect_timeout``, ``read_timeout``),
        for a ministry system slower than the defaults allow."""
        chosen = {}
        for name in ("connect_timeout", "read_timeout"):
            value = self.extra.get(name)
            if value in (None, ""):
                continue
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                seconds = -1.0
            if not 0 < seconds <= 3600:
                raise ConnectionNotConfigured(
                    f"connection {self.conn_id!r}: {name} must be seconds in (0, 3600], "
                    f"not {value!r}"
                )
            chosen[name] = seconds
        return chosen


# Spellings of "verify the certificate" and of "do not", in Airflow providers, requests, curl.
_VERIFY_KEYS = {"verify", "verify_ssl", "ssl_verify", "tls_verify", "verify_tls", "verify_certs"}
_INSECURE_KEYS = {"insecure", "no_verify", "skip_verify", "insecure_skip_verify", "ssl_insecure"}
_YES, _NO = {"true", "1", "yes", "on"}, {"false", "0", "no", "off", "none", ""}


def _turns_tls_off(key: str, value: Any) -> bool:
    name = key.strip().lower().replace("-", "_")
    said = str(value).strip().lower()
    if name in _VERIFY_KEYS:
        return said not in _YES  # false, or a CA path (which belongs in ca_bundle)
    if name in _INSECURE_KEYS:
        return said not in _NO
    return name == "cert_reqs" and said in {"cert_none", "none", "0"}


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def plain_http_allowed(host: str, demo_hosts: Iterable[str] = ()) -> bool:
    """Plain http only to loopback, or in the demo to the hosts it names (its stand-ins)."""
    if is_loopback(host):
        return True
    return host.lower() in {h.strip().lower() for h in demo_hosts} - {""}


def env_var_name(conn_id: str) -> str:
    """The environment variable Airflow reads for ``conn_id``."""
    return f"{ENV_PREFIX}{conn_id.upper()}"


def get_connection(
    conn_id: str,
    environ: Mapping[str, str] = os.environ,
    *,
    plain_http_hosts: frozenset[str] = frozenset(),
) -> Connection:
    """Read ``conn_id`` from the environment, as a URI or as Airflow's JSON form;
    ``plain_http_hosts``: the demo's hosts reachable over plain http (Connection's field)."""
    name = env_var_name(conn_id)
    value = (environ.get(name) or "").strip()
    if not value:
        raise ConnectionNotConfigured(
            f"connection {conn_id!r} is not configured: set {name} to a URI like "
            f"'http://user:password@host:port/schema?key=value' or to Airflow's JSON form"
        )
    # "from None" everywhere below: a chained parser error could quote the raw value, password
    # included, into a traceback.
    try:
        conn = _from_json(conn_id, value) if value.startswith("{") else _from_uri(conn_id, value)
    except ConnectionNotConfigured:
        raise
    except (ValueError, TypeError):
        raise ConnectionNotConfigured(
            f"{name} is not a valid connection URI or JSON object (in a URI, percent-encode "
            "special characters of the login and password)"
        ) from None
    return replace(conn, plain_http_hosts=frozenset(plain_http_hosts))


def _from_uri(conn_id: str, uri: str) -> Connection:
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc:
        raise ValueError("not a URI")
    if "@" in parts.path:  # an unencoded "/" in the password split the URI in the wrong place
        raise ValueError("unencoded credentials")
    extra: dict[str, Any] = {}
    if parts.query:
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        extra = _extra_dict(conn_id, query[EXTRA_KEY]) if EXTRA_KEY in query else query
    return Connection(
        conn_id=conn_id,
        conn_type=parts.scheme.replace("-", "_"),
        host=_hostname(parts.netloc) or None,
        port=parts.port,  # raises ValueError on a non-numeric port
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        schema=unquote(parts.path[1:]) or None,
        extra=extra,
    )


def _from_json(conn_id: str, text: str) -> Connection:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    unknown = set(data) - _JSON_FIELDS
    if unknown:
        raise ConnectionNotConfigured(
            f"{env_var_name(conn_id)} has unknown keys {sorted(unknown)}; "
            f"expected some of {sorted(_JSON_FIELDS)}"
        )
    port = data.get("port")
    return Connection(
        conn_id=conn_id,
        conn_type=str(data.get("conn_type") or "http"),
        host=data.get("host") or None,
        port=int(port) if port not in (None, "") else None,
        login=data.get("login") or None,
        password=data.get("password") or None,
        schema=data.get("schema") or None,
        extra=_extra_dict(conn_id, data.get("extra")),
    )


def _extra_dict(conn_id: str, raw: Any) -> dict[str, Any]:
    if raw in (None, ""):
        return {}
    extra = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(extra, dict):
        raise ConnectionNotConfigured(f"{env_var_name(conn_id)}: extra must be a JSON object")
    return extra


def _hostname(netloc: str) -> str:
    """Host part of a netloc, keeping its case (``SplitResult.hostname`` lower-cases it)."""
    host = netloc.rpartition("@")[2]
    if host.startswith("["):  # IPv6 literal: "[::1]:8765"
        return unquote(host[1 : host.find("]")])
    return unquote(host.split(":", 1)[0])


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False
