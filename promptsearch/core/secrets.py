"""Credentials never leave the process: API keys are read from the environment variable a task
names (never from the task file), and anything written to the store, a lock file, a report or a
log passes through redact() first, which drops them from URLs and text."""

from __future__ import annotations

import os
import re
from typing import Iterable, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

HIDDEN = "***"
SECRET_PARAMS = re.compile(r"(key|token|secret|password|passwd|signature|sig|auth)", re.I)


def redact_url(url: Optional[str]) -> Optional[str]:
    """The URL without user:password and with secret-looking query values hidden."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "") if parts.username or \
        parts.password else parts.netloc
    query = urlencode([(k, HIDDEN if SECRET_PARAMS.search(k) else v)
                       for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_secrets(url: Optional[str]) -> list[str]:
    """The credential strings inside a URL (password, user name, secret query values)."""
    if not url:
        return []
    parts = urlsplit(url)
    found = [parts.password, parts.username]
    found += [v for k, v in parse_qsl(parts.query) if SECRET_PARAMS.search(k)]
    return [value for value in found if value and len(value) >= 4]


def api_key(env_name: Optional[str]) -> Optional[str]:
    return os.environ.get(env_name) if env_name else None


def redact(text: str, secrets: Iterable[Optional[str]]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, HIDDEN)
    return text
