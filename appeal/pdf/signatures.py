"""What verify reports of each signature of a file, validated by pyHanko without the network."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader

from appeal.errors import UserError
from appeal.inputs.source import read_limited
from appeal.pdf import sign
from appeal.pdf.untrusted import Unreadable


def _usage():
    """A signing certificate must allow digital signatures or non-repudiation (pyHanko's default
    asks for non-repudiation alone, which not every organisation's certificate has)."""
    from pyhanko.sign.validation.settings import KeyUsageConstraints

    return KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)


@dataclass
class SignatureReport:
    """What verify says of one signature."""

    signer: str
    fingerprint: str
    signed_at: str
    intact: bool
    whole_file: bool
    trusted: bool | None  # None: no trust anchor given, not checked
    timestamp: str | None
    problem: str | None
    weakness: str | None = None  # what makes the signer's key too weak (key_weakness)


def signatures(data: bytes, trust: list[Path]) -> list[SignatureReport]:
    """Every signature of `data`, validated by pyHanko (no network: trust only what `trust`
    names; the chain is reported as not checked without it)."""
    from pyhanko.sign import validation
    from pyhanko_certvalidator import ValidationContext

    roots = [root for path in trust for root in trusted_certificates(path)]
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        embedded_signatures = reader.embedded_signatures
    except Exception as exc:
        raise Unreadable(f"its signature fields cannot be read ({type(exc).__name__}: {exc})") from None
    if not embedded_signatures:
        return []
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    reports = []
    for embedded in embedded_signatures:
        try:
            certificate = embedded.signer_cert
        except Exception as exc:
            raise Unreadable(f"a signature's certificate cannot be read ({type(exc).__name__})") from None
        names = certificate.subject.native
        subject = names.get("common_name", certificate.subject.human_friendly)
        if names.get("organization_name"):
            subject += f" ({names['organization_name']})"
        fingerprint = hashlib.sha256(certificate.dump()).hexdigest()
        try:
            weakness = sign.key_weakness(x509.load_der_x509_certificate(certificate.dump()).public_key())
        except ValueError as exc:
            weakness = f"a key that cannot be read ({exc})"
        try:
            with _quiet("pyhanko", "pyhanko_certvalidator"):
                status = validation.validate_pdf_signature(embedded, context, key_usage_settings=_usage())
        except Exception as exc:
            reports.append(SignatureReport(subject, fingerprint, "unknown", intact=False, whole_file=False,
                                           trusted=None, timestamp=None, problem=str(exc),
                                           weakness=weakness))
            continue
        when = status.signer_reported_dt
        stamp = status.timestamp_validity
        reports.append(SignatureReport(
            subject, fingerprint, _utc(when) if when else "not stated",
            intact=status.intact and status.valid,
            whole_file=status.coverage == validation.SignatureCoverageLevel.ENTIRE_FILE,
            trusted=status.trusted if roots else None,
            timestamp=(_utc(stamp.timestamp) + (
                "" if stamp.intact and stamp.valid else " (NOT intact)")) if stamp else None,
            problem=None, weakness=weakness))
    return reports


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


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()


@contextlib.contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """pyHanko logs a traceback when it cannot build a chain to a trusted root; without `--trust`
    that is expected, and verify reports the chain as not checked instead."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
