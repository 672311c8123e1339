"""Secrets out of what is printed or logged: one helper for every URL corral shows.

A Redis URL may carry its password (``redis://:pw@host``, ``rediss://user:pw@host``, or
``?password=pw``), an API URL its credentials. Whatever prints or logs a URL passes it
through ``redact_url`` first: banners, error messages, logs, the command line.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

HIDDEN = "***"
SECRET_QUERY_KEYS = frozenset({"password", "pass", "pwd", "token", "secret", "auth"})
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^/@:]*)(?::[^/@]*)?@", re.I)


def redact_url(url: str) -> str:
    """``url`` with its password (and any secret query value) replaced by ``***``.

    The user name, host, port, path and the other query values are kept: they are what a
    reader needs to tell which server was meant. A URL that does not parse is redacted by
    pattern, so nothing is printed in clear because it was malformed.
    """
    try:
        parts = urlsplit(url)
        has_password = parts.password is not None
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return _USERINFO.sub(rf"\g<scheme>\g<user>:{HIDDEN}@", url)
    netloc = parts.netloc
    if has_password:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{HIDDEN}@{hostport}"
    if any(key.lower() in SECRET_QUERY_KEYS for key, _ in query):
        hidden = [(k, HIDDEN if k.lower() in SECRET_QUERY_KEYS else v) for k, v in query]
        return urlunsplit(parts._replace(netloc=netloc, query=urlencode(hidden, safe="*")))
    return urlunsplit(parts._replace(netloc=netloc))


def redact_text(text: str, url: str) -> str:
    """``text`` (an exception's message, say) with ``url``'s secrets hidden wherever they
    appear, in the URL or on their own."""
    text = text.replace(url, redact_url(url))
    try:
        parts = urlsplit(url)
        secrets = [parts.password or ""]
        secrets += [v for k, v in parse_qsl(parts.query) if k.lower() in SECRET_QUERY_KEYS]
    except ValueError:
        return _USERINFO.sub(rf"\g<scheme>\g<user>:{HIDDEN}@", text)
    for secret in filter(None, secrets + [unquote(s) for s in secrets]):
        text = text.replace(secret, HIDDEN)
    return text
