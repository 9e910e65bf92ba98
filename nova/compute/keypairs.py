"""Key pairs (``os-keypairs``): a user's public keys, by name, as Nova's.

A key pair is an OpenSSH public key (type ``ssh``) or, from microversion
2.2, a PEM X.509 certificate (type ``x509``). Created without a public
key, the pair is generated here and its private key returned once, never
stored. Names are per user. Errors: ValidationError (400) for a bad name
or key, KeypairLimitExceeded (403) past the user's key_pairs quota,
KeyPairExists (409), KeypairNotFound (404).
"""

import base64
import datetime
import hashlib
import string

from cryptography import exceptions as crypto_exceptions
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography import x509
from cryptography.x509 import oid

from nova.db import api as db
from nova import exception

SSH, X509 = 'ssh', 'x509'
TYPES = (SSH, X509)
# Nova's default key_pairs quota (per user; [quota] key_pairs sets it).
MAX_KEY_PAIRS = 100
# Nova's safe characters for a key pair name (before microversion 2.92).
NAME_CHARACTERS = frozenset(string.ascii_letters + string.digits + '-_ .')
MAX_NAME_LENGTH = 255
# Longer than any real key or certificate; bounds what is stored.
MAX_PUBLIC_KEY_LENGTH = 16384
KEY_BITS = 2048
CERT_DAYS = 3650


def _bad(detail, field='keypair.public_key'):
    return exception.ValidationError(field=field, detail=detail)


def check_name(name):
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise _bad('a key pair name has 1 to 255 characters',
                   'keypair.name')
    if not set(name) <= NAME_CHARACTERS or name != name.strip():
        raise _bad('a key pair name has only letters, digits, "-", "_", '
                   '"." and inner spaces', 'keypair.name')
    return name


def _colons(digest):
    return ':'.join('%02x' % b for b in digest)


def ssh_fingerprint(public_key):
    """Nova's fingerprint of an OpenSSH public key line: the MD5 of its
    key blob, as colon-separated hex. ValidationError when it is none."""
    try:
        serialization.load_ssh_public_key(public_key.encode('utf-8'))
        blob = base64.b64decode(public_key.split()[1], validate=True)
    except (ValueError, IndexError, UnicodeError, NotImplementedError,
            # A key type cryptography does not know (``ssh-foo ...``).
            crypto_exceptions.UnsupportedAlgorithm) as e:
        raise _bad('Keypair data is invalid: not an OpenSSH public key '
                   '(%s)' % type(e).__name__)
    return _colons(hashlib.md5(blob, usedforsecurity=False).digest())


def x509_fingerprint(certificate):
    """Nova's fingerprint of a PEM certificate: SHA-1 of its DER."""
    try:
        cert = x509.load_pem_x509_certificate(certificate.encode('utf-8'))
    except (ValueError, UnicodeError) as e:
        raise _bad('Keypair data is invalid: not a PEM X.509 certificate '
                   '(%s)' % type(e).__name__)
    return _colons(cert.fingerprint(hashes.SHA1()))


def _private_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode('ascii')


def generate(key_type, user_id):
    """A new pair: ``(private_key_pem, public_key)``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    if key_type == SSH:
        public = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH,
            serialization.PublicFormat.OpenSSH).decode('ascii')
        return _private_pem(key), public + ' Generated-by-Nova'
    name = x509.Name([x509.NameAttribute(oid.NameOID.COMMON_NAME,
                                         user_id or 'nova')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
            .sign(key, hashes.SHA256()))
    return (_private_pem(key),
            cert.public_bytes(serialization.Encoding.PEM).decode('ascii'))


def fingerprint(key_type, public_key):
    if len(public_key) > MAX_PUBLIC_KEY_LENGTH:
        raise _bad('a public key has at most %d characters'
                   % MAX_PUBLIC_KEY_LENGTH)
    if key_type == X509:
        return x509_fingerprint(public_key)
    return ssh_fingerprint(public_key)


def create(user_id, name, key_type=SSH, public_key=None,
           limit=MAX_KEY_PAIRS, recheck=True):
    """Import ``public_key`` or generate a pair for ``user_id``.

    ``limit``: the user's key_pairs quota (None: any number); with
    ``recheck`` the pairs are counted again after the insert and the new
    one deleted when a racing create took the last place
    (KeypairLimitExceeded, 403).

    Returns the key pair dict (``name``, ``user_id``, ``public_key``,
    ``fingerprint``, ``type``, ``id``, ``created_at``) with
    ``private_key`` when it was generated.
    """
    check_name(name)
    if key_type not in TYPES:
        raise _bad("the type is 'ssh' or 'x509'", 'keypair.type')
    if limit is not None and db.key_pair_count(user_id) >= limit:
        raise exception.KeypairLimitExceeded()
    if db.key_pair_get(user_id, name) is not None:
        raise exception.KeyPairExists(key_name=name)
    private_key = None
    if public_key is None:
        private_key, public_key = generate(key_type, user_id)
    public_key = public_key.strip()
    values = {'user_id': user_id, 'name': name, 'type': key_type,
              'public_key': public_key,
              'fingerprint': fingerprint(key_type, public_key)}
    try:
        pair = db.key_pair_create(values)
    except exception.Conflict:  # a racing create of the same name
        raise exception.KeyPairExists(key_name=name)
    if recheck and limit is not None and db.key_pair_count(user_id) > limit:
        db.key_pair_delete(user_id, name)
        raise exception.KeypairLimitExceeded()
    if private_key is not None:
        pair['private_key'] = private_key
    return pair


def get(user_id, name):
    pair = db.key_pair_get(user_id, name)
    if pair is None:
        raise exception.KeypairNotFound(user_id=user_id, name=name)
    return pair


def get_all(user_id):
    return db.key_pair_list(user_id)


def delete(user_id, name):
    if not db.key_pair_delete(user_id, name):
        raise exception.KeypairNotFound(user_id=user_id, name=name)
