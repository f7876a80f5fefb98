"""PAdES signatures: who published an edition, and that it has not changed since.

A PAdES baseline B-B signature (B-T with a timestamp; B-LTA with long-term validation data and
a document timestamp after it, pdf/ltv.py) made with pyHanko, invisible, with SHA-256, as an
incremental update: the signed file is the unsigned file byte for byte with one revision
appended (and B-LTA's two more). The archive keeps PDF/A-3a and PDF/UA-1: its empty signature field is made
and tagged when it is finished (pdf/pdfa.py) and filled here; pyHanko's own metadata update
(a new Producer and a modification time taken from the clock) is left out, so the XMP and the
information dictionary still agree and a signature made twice with the same key, data and
stack has the same bytes (RSA and deterministic ECDSA signatures; RFC 3161 timestamps come
from the authority's clock and differ).
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
import sys
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import attributes, fields, signers
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko_certvalidator.registry import SimpleCertificateStore

from appeal.dates import given_epoch
from appeal.errors import UserError
from appeal.inputs.source import read_limited
from appeal.pdf.pdfua import SIGNATURE_FIELD

PASSWORD_VARIABLE = "APPEAL_SIGN_PASSWORD"
# Room kept in the file for the CMS signature: the certificates of a chain of three, a timestamp
# token and its authority's chain fit in 24 kB (a signature with one certificate takes 3 kB).
RESERVED = 24 * 1024
KEY_LIMIT = 1 * 2**20


@dataclass
class SigningKey:
    """A signer's key and certificate, loaded once for every file a build signs."""

    signer: object  # pyhanko.sign.signers.SimpleSigner
    subject: str
    fingerprint: str  # SHA-256 of the certificate, hex
    not_before: dt.datetime
    not_after: dt.datetime
    path: Path

    @property
    def roots(self) -> list:
        """The self-signed certificates the key file carries with its chain (asn1crypto)."""
        return [certificate for certificate in self.signer.cert_registry if certificate.self_signed != "no"]


def password_for(path: Path) -> bytes | None:
    """The key's password: from APPEAL_SIGN_PASSWORD, or asked on the terminal, never from the
    command line (it would show in `ps` and the shell's history); None for a key without one."""
    if PASSWORD_VARIABLE in os.environ:
        return os.environ[PASSWORD_VARIABLE].encode() or None
    if sys.stdin.isatty():
        return getpass.getpass(f"Password for {path} (empty for none): ").encode() or None
    return None


def load_key(path: Path, password: bytes | None = None, now: dt.datetime | None = None) -> SigningKey:
    """The PKCS#12 key at `path`, checked: readable with `password`, an RSA or ECDSA P-256 key
    whose certificate is valid now and allows signing; a UserError says what is wrong."""
    raw = read_limited(path, "signing key (a PKCS#12 file)", KEY_LIMIT)
    if password is None:
        password = password_for(path) if PASSWORD_VARIABLE in os.environ else _try_without_password(raw, path)
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(raw, password)
    except ValueError:
        try:  # a key without a password, with APPEAL_SIGN_PASSWORD exported for another key
            key, certificate, chain = pkcs12.load_key_and_certificates(raw, None)
        except ValueError:
            key = certificate = chain = None
    if key is None and certificate is None and chain is None:
        hint = "" if password else f" (set {PASSWORD_VARIABLE}, or run in a terminal to be asked)"
        raise UserError(f"{path}: cannot be opened: the password is wrong, or this is not a PKCS#12 "
                        f"file{hint}")
    if key is None or certificate is None:
        raise UserError(f"{path}: holds no private key with its certificate")
    if isinstance(key, ec.EllipticCurvePrivateKey) and not isinstance(key.curve, ec.SECP256R1):
        raise UserError(f"{path}: an ECDSA key on {key.curve.name}; signing with SHA-256 takes an RSA key "
                        "or ECDSA on P-256 (a larger curve would raise the file to PDF 2.0)")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise UserError(f"{path}: a {type(key).__name__.removesuffix('PrivateKey').lstrip('_')} key; "
                        "signing takes an RSA key or ECDSA on P-256")
    weak = key_weakness(key)
    if weak:
        raise UserError(f"{path}: {weak}; signing takes RSA of {MIN_RSA_BITS} bits or more, "
                        "or ECDSA on P-256")
    now = now or dt.datetime.now(dt.UTC)
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    subject = _who(certificate.subject)
    if now > end:
        raise UserError(f"{path}: the certificate of {subject} expired on {end:%Y-%m-%d}")
    if now < start:
        raise UserError(f"{path}: the certificate of {subject} is valid only from {start:%Y-%m-%d}")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        if not (usage.digital_signature or usage.content_commitment):
            raise UserError(f"{path}: the certificate of {subject} does not allow signing (key usage)")
    except x509.ExtensionNotFound:
        pass
    der = serialization.Encoding.DER
    signer = _Signer(
        key,
        signing_cert=asn1_x509.Certificate.load(certificate.public_bytes(der)),
        signing_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(c.public_bytes(der)) for c in chain]))
    return SigningKey(signer, subject, certificate.fingerprint(hashes.SHA256()).hex(), start, end, path)


# NIST SP 800-57 Part 1 Rev. 5, table 2: RSA below 2048 bits gives less than 112 bits of
# security, disallowed for signing since 2014; ECDSA below 256 bits likewise.
MIN_RSA_BITS, MIN_EC_BITS = 2048, 256


def key_weakness(key) -> str | None:
    """What makes a key (private or public, RSA or EC) too weak to sign with, or None."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return f"an RSA key of {key.key_size} bits, too weak (NIST SP 800-57: {MIN_RSA_BITS} at least)"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and \
            key.curve.key_size < MIN_EC_BITS:
        return f"an EC key of {key.curve.key_size} bits, too weak ({MIN_EC_BITS} at least)"
    return None


def _who(name: x509.Name) -> str:
    """`Campaign Signer (Joint Appeal Campaign)`: the common name and the organisation."""
    def first(oid):
        values = name.get_attributes_for_oid(oid)
        return str(values[0].value) if values else None

    common = first(x509.NameOID.COMMON_NAME) or name.rfc4514_string()
    organisation = first(x509.NameOID.ORGANIZATION_NAME)
    return f"{common} ({organisation})" if organisation else common


def _try_without_password(raw: bytes, path: Path) -> bytes | None:
    try:
        pkcs12.load_key_and_certificates(raw, None)
        return None
    except ValueError:
        return password_for(path)


class _Signer(signers.SimpleSigner):
    """pyHanko's signer with the key parsed once (pyHanko parses it again for every signature:
    25 ms for an RSA key, more than the rest of signing a letter pack), and ECDSA made
    deterministic (RFC 6979), so that signing again gives the same bytes."""

    def __init__(self, key, **kwargs) -> None:
        super().__init__(**kwargs)
        self.key = key
        self.certificate_attribute = _SigningCertificate(self.signing_cert)

    def _signed_attr_providers(self, *args, **kwargs):
        for provider in super()._signed_attr_providers(*args, **kwargs):
            certificate = isinstance(provider, attributes.SigningCertificateV2Provider)
            yield self.certificate_attribute if certificate else provider

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        if digest_algorithm != "sha256":  # pinned in sign(): SHA-384 would make the file PDF 2.0
            raise AssertionError(digest_algorithm)
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self.key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))


class _SigningCertificate(attributes.SigningCertificateV2Provider):
    """The signer's certificate as a signed attribute (RFC 5035), made once a key and read back from
    DER: pyHanko's, built from Python values, asn1crypto encoded again whenever its bytes were read
    (half of a pack's signature, measured). The same bytes."""

    def __init__(self, signing_cert) -> None:
        super().__init__(signing_cert)
        self.der = as_signing_certificate_v2(signing_cert).dump()

    async def build_attr_value(self, dry_run=False):
        return tsp.SigningCertificateV2.load(self.der)


def signing_time(recorded: dt.datetime, key: SigningKey) -> dt.datetime:
    """When the file says it was signed: SOURCE_DATE_EPOCH if set, else the date the edition
    records (`recorded`), never the clock, so that signing is reproducible; but not before the
    certificate's validity began (a reader would reject a signature older than its certificate)."""
    return max(given_epoch() or recorded, key.not_before)


def timestamper(url: str):
    """An RFC 3161 time-stamping authority at `url` (PAdES B-T, and B-LTA's document timestamps)."""
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

    from appeal.pdf.ltv import FETCH_TIMEOUT

    return RequestsHTTPTimeStamper(url, timeout=FETCH_TIMEOUT)


def sign(data: bytes, key: SigningKey, when: dt.datetime, *, existing_field: str | None = None,
         reason: str | None = None, location: str | None = None, stamper=None) -> bytes:
    """`data` signed: the same bytes with a signature revision appended.

    With `existing_field`, the tagged empty field of the archive or of a letter pack is filled;
    otherwise an invisible field is made (the print file of the letters, which is not tagged).
    """
    out = BytesIO()
    sign_stream(BytesIO(data), out, key, when, existing_field=existing_field, reason=reason,
                location=location, stamper=stamper)
    return out.getvalue()


def sign_file(source: Path, target: Path, key: SigningKey, when: dt.datetime, **options) -> None:
    """`source` signed into `target`, streamed (a print file of thousands of packs)."""
    try:
        with source.open("rb") as unsigned, target.open("wb") as signed:
            sign_stream(unsigned, signed, key, when, **options)
    except OSError as exc:
        raise UserError(f"{exc.filename or target}: cannot be written: {exc.strerror or exc}") from None


def sign_stream(unsigned: BinaryIO, signed: BinaryIO, key: SigningKey, when: dt.datetime, *,
                existing_field: str | None = None, reason: str | None = None, location: str | None = None,
                stamper=None) -> None:
    class Writer(IncrementalPdfFileWriter):
        def _update_meta(self) -> None:
            """The archive's XMP and information dictionary were written whole, in agreement,
            when it was finished; a signature changes neither (pyHanko would rewrite the Producer
            and stamp the clock's time as the modification date)."""

        @classmethod
        def _handle_id(cls, prev):
            # The second part of the ID names this revision: derived from the first (itself
            # derived from the content), the signer and the time rather than random, so the
            # same signature gives the same file.
            first = super()._handle_id(prev)[0]
            second = hashlib.sha256(bytes(first) + key.fingerprint.encode() + when.isoformat().encode())
            return generic.ArrayObject([first, generic.ByteStringObject(second.digest()[:16])])

    class Signer(signers.PdfSigner):
        def init_signing_session(self, pdf_out, existing_fields_only=False):
            session = super().init_signing_session(pdf_out, existing_fields_only)
            session.system_time = when
            return session

    field = existing_field or SIGNATURE_FIELD
    metadata = signers.PdfSignatureMetadata(
        field_name=field, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason, location=location)
    pdf_signer = Signer(metadata, key.signer, timestamper=stamper,
                        new_field_spec=None if existing_field else fields.SigFieldSpec(field))
    try:
        pdf_signer.sign_pdf(Writer(unsigned), existing_fields_only=existing_field is not None,
                            bytes_reserved=RESERVED, output=signed)
    except OSError:
        raise
    except Exception as exc:  # pyHanko's errors: a timestamp server that refuses, a field in the way
        raise UserError(f"signing failed: {exc}") from None


def unsigned_revision(data: bytes) -> bytes:
    """The file as it was before its first incremental update (the edition as built, before it was
    signed): everything up to the end of the first revision's `%%EOF` line."""
    reader = PdfFileReader(BytesIO(data), strict=False)
    if reader.xrefs.total_revisions < 2:
        return data
    end = data.index(b"%%EOF", reader.xrefs.get_xref_container_info(0).end_location) + len(b"%%EOF")
    while end < len(data) and data[end:end + 1] in (b"\r", b"\n"):
        end += 1
    return data[:end]


@dataclass
class Signing:
    """What a build signs with: the key, loaded once, and what each signature states; with `ltv`,
    each signature made PAdES B-LTA (pdf/ltv.py), the status of its certificates fetched once a
    process (the validation context keeps what it fetched)."""

    key: SigningKey
    reason: str | None = None
    location: str | None = None
    stamper: object | None = None
    ltv: bool = False
    anchors: tuple = ()  # asn1crypto certificates trusted besides the system's (--trust, the key's root)
    _context: object | None = None

    def options(self) -> dict:
        return {"reason": self.reason, "location": self.location, "stamper": self.stamper}

    @property
    def context(self):
        """The validation context that fetches the certificates' status (B-LT), made on first use
        and again once it is older than ltv.CONTEXT_LIFE; it keeps what it fetched."""
        from appeal.pdf.ltv import CONTEXT_LIFE, validation_context

        if self._context is None or dt.datetime.now(dt.UTC) - self._context.moment > CONTEXT_LIFE:
            self._context = validation_context(self.anchors, fetching=True)
        return self._context

    def __call__(self, data: bytes, recorded: dt.datetime, existing_field: str | None = None) -> bytes:
        signed = sign(data, self.key, signing_time(recorded, self.key), existing_field=existing_field,
                      **self.options())
        if not self.ltv:
            return signed
        from appeal.pdf.ltv import long_term

        return long_term(signed, self.stamper, self.context)

    def file(self, source: Path, target: Path, recorded: dt.datetime) -> None:
        if not self.ltv:
            sign_file(source, target, self.key, signing_time(recorded, self.key), **self.options())
            return
        from appeal.pdf.ltv import long_term_file

        signed = target.with_name(target.name + ".signed")
        sign_file(source, signed, self.key, signing_time(recorded, self.key), **self.options())
        long_term_file(signed, target, self.stamper, self.context)
        signed.unlink()

    def check_not_revoked(self) -> None:
        """Before anything is laid out: the signer's certificate validated now, its status fetched
        from its authority; a UserError when it is revoked, untrusted or its status unknown."""
        from appeal.pdf.ltv import signer_path

        signer_path(self.key.signer.signing_cert, list(self.key.signer.cert_registry), self.context,
                    f"the certificate of {self.key.subject} ({self.key.path})")


def key_exposure(path: Path) -> list[str]:
    """What puts the private key at `path` at risk: a place inside a git work tree (one `git add
    .` from being published) or a mode that lets others read it."""
    found = []
    resolved = path.resolve()
    for folder in resolved.parents:
        if (folder / ".git").exists():
            found.append(f"{path}: the signing key is inside the git work tree {folder}; keep it outside "
                         "(for instance in ~/.config/appeal-keys/, docs/signing.md)")
            break
    try:
        mode = resolved.stat().st_mode & 0o777
    except OSError:
        return found  # load_key says why it cannot be read
    if mode & 0o077:
        found.append(f"{path}: the signing key can be read by others (mode {mode:03o}); "
                     f"chmod 600 {path}")
    return found


def load_signing(signer) -> Signing:
    """The key a request names (request.Signer: `--key` or `--sign-key`), loaded and checked before
    anything is laid out, with the reason, location and timestamp authority given beside it; for
    long-term validation (`--ltv`), the certificate's status fetched now: a revoked one stops here."""
    if signer.ltv and not signer.timestamp_url:
        raise UserError("--ltv needs --timestamp-url: long-term validation (PAdES B-LTA) rests on "
                        "timestamps from a time-stamping authority")
    key = load_key(signer.key)
    for warning in key_exposure(signer.key):  # of a key that works: a broken one is an error
        print(f"warning: {warning}", file=sys.stderr)
    stamper = timestamper(signer.timestamp_url) if signer.timestamp_url else None
    anchors = (*key.roots, *(root for path in signer.trust for root in trusted_certificates(path)))
    signing = Signing(key, signer.reason, signer.location, stamper, ltv=signer.ltv, anchors=anchors)
    if signing.ltv:
        signing.check_not_revoked()
    return signing


TRUST_LIMIT = 1 * 2**20


def trusted_certificates(path: Path) -> list:
    """The certificates of a `--trust` file, as pyHanko takes them: one DER certificate, or a PEM
    file of one or more (a bundle); read within a limit; anything else is a UserError."""
    raw = read_limited(path, "certificates to trust (--trust, PEM or DER)", TRUST_LIMIT)
    try:
        found = (x509.load_pem_x509_certificates(raw) if b"-----BEGIN" in raw
                 else [x509.load_der_x509_certificate(raw)])
    except ValueError as exc:
        raise UserError(f"--trust {path}: not a certificate, nor a PEM bundle of certificates "
                        f"({exc})") from None
    der = serialization.Encoding.DER
    return [asn1_x509.Certificate.load(certificate.public_bytes(der)) for certificate in found]

