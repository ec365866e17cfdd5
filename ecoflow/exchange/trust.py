"""Who may speak on the exchange: this instance's bureaus and their Ed25519 keys, the peers
registry (bureau code, base URL, public key), signing and checking envelopes."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

from ecoflow.audit import canonical


@dataclass(frozen=True)
class Peer:
    code: str
    url: str | None  # None: hosted by this instance, reached without HTTP
    public_key: Ed25519PublicKey


def new_private_key(path: Path) -> Ed25519PrivateKey:
    """A fresh key pair, the private half written to `path` (PEM, readable by the owner only)."""
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.touch(mode=0o600)
    path.chmod(0o600)  # touch leaves the mode of a key being replaced (--force) as it was
    path.write_bytes(pem)
    return key


def _instance_key(path: Path) -> Ed25519PrivateKey:
    """The key at `path`; on first start, one made there, however many workers start at once."""
    if not path.exists():
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        new_private_key(draft)
        try:
            os.link(draft, path)  # atomic: the first worker's key is everyone's
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public key as the peers file names it: base64 of its 32 raw bytes."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _load_public(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


class Trust:
    """The keys of one instance, built once from its configuration."""

    def __init__(self, config: dict, bureaus: list[str]):
        self.hosted = list(config["EXCHANGE_BUREAUS"] or bureaus)
        keys_dir = Path(config["EXCHANGE_KEYS_DIR"])
        self.private = {}
        for code in self.hosted:
            # First start: a key pair per hosted bureau, kept under instance/, never in the repository.
            self.private[code] = _instance_key(keys_dir / f"{code}.pem")
        self.peers = {code: Peer(code, None, key.public_key()) for code, key in self.private.items()}
        for code, spec in (config["EXCHANGE_PEERS"] or {}).items():
            if code not in self.peers:
                self.peers[code] = Peer(code, spec["url"].rstrip("/"), _load_public(spec["public_key"]))

    def is_local(self, code: str) -> bool:
        return code in self.private

    def sign(self, envelope: dict) -> dict:
        """The envelope with its signature over the canonical form of everything else."""
        body = {k: v for k, v in envelope.items() if k != "signature"}
        signature = self.private[envelope["from"]].sign(canonical(body))
        return {**body, "signature": base64.b64encode(signature).decode()}

    def verify(self, envelope: dict) -> bool:
        """Whether the envelope was signed by the key the peers registry holds for its sender."""
        body = {k: v for k, v in envelope.items() if k != "signature"}
        try:
            signature = base64.b64decode(envelope["signature"], validate=True)
            self.peers[envelope["from"]].public_key.verify(signature, canonical(body))
        except (InvalidSignature, ValueError):
            return False
        return True

    def sign_request(self, sender: str, path: str, sent_at: str) -> str:
        """A signature over a GET of `path` by `sender` at `sent_at` (a file fetched by its hash)."""
        return base64.b64encode(self.private[sender].sign(_request_text(sender, path, sent_at))).decode()

    def verify_request(self, sender: str, path: str, sent_at: str, signature: str) -> bool:
        """Whether a GET of `path` was signed by the key the peers registry holds for `sender`."""
        peer = self.peers.get(sender)
        if peer is None or self.is_local(sender):
            return False
        try:
            peer.public_key.verify(base64.b64decode(signature, validate=True), _request_text(sender, path, sent_at))
        except (InvalidSignature, ValueError):
            return False
        return True


def _request_text(sender: str, path: str, sent_at: str) -> bytes:
    return canonical({"method": "GET", "path": path, "from": sender, "sent_at": sent_at})


def get_trust() -> Trust:
    return current_app.extensions["ecoflow.trust"]
