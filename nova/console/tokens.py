"""Console tokens: the secret part of a console URL.

:func:`authorize` hands out a random token and stores only its SHA-256
digest with where it leads (instance, host, port) and when it expires.
nova-serialproxy calls :func:`validate` with what a client presents. A
leaked database row therefore opens no console.
"""

import dataclasses
import datetime
import hashlib
import re
import secrets

import nova.conf
from nova.db import api as db
from nova import exception

CONF = nova.conf.CONF

TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters
MAX_TOKEN_LENGTH = 64
_TOKEN_RE = re.compile(r'[A-Za-z0-9_-]+')


@dataclasses.dataclass(frozen=True)
class ConnectInfo:
    """Where a valid token leads."""

    instance_uuid: str
    console_type: str
    host: str
    port: int
    expires_at: datetime.datetime


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _hash(token):
    return hashlib.sha256(token.encode('ascii')).hexdigest()


def authorize(instance_uuid, console_type, host, port, ttl=None):
    """Create a token for ``host:port``; return it (it is stored hashed).

    ``ttl`` is in seconds, by default ``[consoleauth] token_ttl``. Expired
    tokens of every instance are purged on the way.
    """
    if ttl is None:
        ttl = CONF.consoleauth.token_ttl
    now = _utcnow()
    db.console_token_purge_expired(now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.console_token_create({
        'token_hash': _hash(token),
        'instance_uuid': instance_uuid,
        'console_type': console_type,
        'host': host,
        'port': int(port),
        'expires_at': now + datetime.timedelta(seconds=ttl)})
    return token


def validate(token):
    """Where ``token`` leads, or InvalidToken.

    Malformed, unknown and expired tokens get the same error, so a caller
    learns nothing about which tokens exist. The lookup is by the token's
    SHA-256 digest, never by the token itself, so comparing in constant
    time buys nothing: timing can only reveal digest prefixes, which do
    not help to find a token.
    """
    if (not isinstance(token, str) or not token or
            len(token) > MAX_TOKEN_LENGTH or
            not _TOKEN_RE.fullmatch(token)):
        raise exception.InvalidToken()
    row = db.console_token_get_by_hash(_hash(token))
    if row is None or row['expires_at'] <= _utcnow():
        raise exception.InvalidToken()
    return ConnectInfo(**row)


def delete_for_instance(instance_uuid):
    """Revoke every token of an instance; return how many there were."""
    return db.console_token_delete_for_instance(instance_uuid)


def purge_expired():
    """Delete expired tokens; return how many."""
    return db.console_token_purge_expired(_utcnow())
