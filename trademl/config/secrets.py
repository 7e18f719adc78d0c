"""Secrets in a spec: ``${ENV_VAR}`` references resolved at use time, and redaction.

A secret field (an SMTP password, a webhook URL that carries its token, any header value,
a key, token or password anywhere, the password inside a store URL) is written as a
reference, ``password: ${SMTP_PASSWORD}``, and read from the environment only when the
channel or store is built. What trademl logs or stores (MLflow params, the spec artifact,
log lines, error messages, ``alert_events.detail``) holds the reference, never the value;
a literal secret is replaced by ``***`` (a URL keeps its scheme and host).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from trademl.errors import SpecError

__all__ = [
    "MASK",
    "is_reference",
    "redact_spec",
    "redact_text",
    "redact_url",
    "resolve_env",
]

log = logging.getLogger(__name__)

MASK = "***"
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# keys whose values are secret wherever they appear in a spec
_SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|api[_-]?key|apikey|authorization|credential)", re.IGNORECASE
)
# whole mappings whose every value is secret (HTTP headers carry tokens under any name)
_SECRET_MAPPINGS = {"headers"}
# URL-valued fields: a literal keeps scheme and host; the path and query may be a token
_URL_KEYS = {"url"}
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def is_reference(value: Any) -> bool:
    """True when ``value`` is made only of ``${VAR}`` references (safe to log as is)."""
    return (
        isinstance(value, str)
        and bool(_REFERENCE.search(value))
        and not _REFERENCE.sub("", value).strip(" /:@")
    )


def resolve_env(value: str | None, *, field: str) -> str | None:
    """``value`` with every ``${VAR}`` replaced from the environment; ``SpecError`` naming
    the field and the variable when one is unset."""
    if value is None or "${" not in value:
        return value

    def lookup(match: re.Match) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise SpecError(
                f"{field}: environment variable {name} is not set (used as ${{{name}}})"
            )
        return os.environ[name]

    return _REFERENCE.sub(lookup, value)


def redact_url(url: str) -> str:
    """``scheme://user:***@host:port/***``: the password, path and query can hold tokens."""
    if is_reference(url):
        return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme or not parts.netloc:
        return MASK
    host = parts.hostname or ""
    if port is not None:
        host = f"{host}:{port}"
    if parts.username:
        host = f"{parts.username}:{MASK}@{host}" if parts.password else f"{parts.username}@{host}"
    path = "/" + MASK if parts.path.strip("/") or parts.query else ""
    return urlunsplit((parts.scheme, host, path, "", ""))


def _redact_userinfo(url: str) -> str:
    """Only the password of a store URL (``postgresql://u:pw@h/db``); the path is no secret."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password or is_reference(password):
        return url
    return url.replace(f":{password}@", f":{MASK}@", 1)


def _redact_value(key: str, value: Any, *, secret: bool) -> Any:
    if isinstance(value, Mapping):
        inner = secret or key in _SECRET_MAPPINGS
        return {k: _redact_value(str(k), v, secret=inner) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(key, v, secret=secret) for v in value]
    if not isinstance(value, str) or not value or is_reference(value):
        return value
    if key in _URL_KEYS:
        return redact_url(value)
    if secret or _SECRET_KEY.search(key):
        return MASK
    if "://" in value:
        return _redact_userinfo(value)
    return value


def redact_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a dumped spec with every literal secret masked (references kept)."""
    return {str(k): _redact_value(str(k), v, secret=False) for k, v in spec.items()}


def literal_secrets(spec: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of secret fields that hold a literal value instead of ``${VAR}``."""
    found = []
    redacted = redact_spec(spec)

    def walk(original: Any, masked: Any, path: str) -> None:
        if isinstance(original, Mapping):
            for k in original:
                walk(original[k], masked[str(k)], f"{path}.{k}" if path else str(k))
        elif original != masked:
            found.append(path)

    walk(dict(spec), redacted, prefix)
    return found


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with each known secret value masked and every URL's path and query cut."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, redact_url(secret) if "://" in secret else MASK)
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
