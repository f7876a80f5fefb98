"""What verify reports of each signature of a file, validated by pyHanko without the network.

Besides the signature itself (intact, covering its revision, the chain): its PAdES level (B-B,
B-T, B-LT, B-LTA), every timestamp with its authority, and whether the validation data the file
carries suffice to validate it, as of now or of another date, offline (ETSI EN 319 102-1's
long-term validation, pyHanko's `ades_lta_validation`). One thing no file can carry is the
status of its newest timestamp's certificate after the file was last extended; offline it is
taken as not revoked, and the report says so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader

from appeal.pdf import sign
from appeal.pdf.untrusted import Unreadable


def _usage():
    """A signing certificate must allow digital signatures or non-repudiation (pyHanko's default
    asks for non-repudiation alone, which not every organisation's certificate has)."""
    from pyhanko.sign.validation.settings import KeyUsageConstraints

    return KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)


@dataclass
class Timestamp:
    """A timestamp of the file: the signature's (B-T) or a document timestamp (B-LTA)."""

    kind: str  # "signature" or "document"
    at: dt.datetime
    authority: str
    intact: bool
    valid_until: dt.datetime  # the end of its authority's certificate, or of its chain's first to end
    whole_file: bool = False  # a document timestamp over every byte of the file


@dataclass
class LongTerm:
    """Whether the validation data a file carries suffice to validate its signature offline."""

    at: dt.datetime
    suffices: bool
    problem: str | None
    assumed: str | None  # the newest timestamp's authority: taken as not revoked since the last revision
    anchors: str  # what the chain was validated against: --trust, or the roots the file carries
    counts: tuple[int, int, int]  # certificates, OCSP responses, CRLs in the document security store


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
    level: str = "B-B"  # PAdES baseline level: B-B, B-T, B-LT, B-LTA
    covers: int = 0  # where the bytes it signs end (its /ByteRange)
    timestamps: list[Timestamp] | None = None
    long_term: LongTerm | None = None


def signatures(data: bytes, trust: list[Path], at: dt.datetime | None = None) -> list[SignatureReport]:
    """Every signature of `data` (document timestamps are reported with the signature they keep),
    validated by pyHanko (no network: trust only what `trust` names; the chain is reported as not
    checked without it); the long-term validation as of `at` (default: now)."""
    from pyhanko.sign import validation
    from pyhanko_certvalidator import ValidationContext

    roots = [root for path in trust for root in sign.trusted_certificates(path)]
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        embedded_signatures = reader.embedded_regular_signatures
        document_timestamps = reader.embedded_timestamp_signatures
    except Exception as exc:
        raise Unreadable(f"its signature fields cannot be read ({type(exc).__name__}: {exc})") from None
    if not embedded_signatures:
        return []
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    stamps = [_document_timestamp(stamp, roots, len(data)) for stamp in document_timestamps]
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
        timestamps = [*_signature_timestamps(embedded, stamp), *stamps]
        store = _store_counts(reader)
        level = ("B-LTA" if stamps and any(s.kind == "signature" for s in timestamps) and any(store[1:]) else
                 "B-LT" if stamp and any(store[1:]) else "B-T" if stamp else "B-B")
        reports.append(SignatureReport(
            subject, fingerprint, _utc(when) if when else "not stated",
            intact=status.intact and status.valid,
            whole_file=status.coverage == validation.SignatureCoverageLevel.ENTIRE_FILE,
            trusted=status.trusted if roots else None,
            timestamp=(_utc(stamp.timestamp) + (
                "" if stamp.intact and stamp.valid else " (NOT intact)")) if stamp else None,
            problem=None, weakness=weakness, level=level, timestamps=timestamps,
            covers=int(embedded.byte_range[2]) + int(embedded.byte_range[3]),
            long_term=long_term(embedded, reader, roots, at, level, store)
            if at is not None or level in ("B-LT", "B-LTA") else None))
    return reports


def _signature_timestamps(embedded, status) -> list[Timestamp]:
    """The signature's own timestamp (PAdES B-T), with its authority."""
    if status is None:
        return []
    from pyhanko.sign.general import extract_certificate_info
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter

    tokens = list(extract_tst_data_iter(embedded.signer_info, signed=False))
    certificate = extract_certificate_info(tokens[0]).signer_cert if tokens else None
    until = _valid_until(tokens[0]) if tokens else status.timestamp
    return [Timestamp("signature", status.timestamp, _name(certificate) if certificate else "unknown",
                      status.intact and status.valid, until)]


def _document_timestamp(embedded, roots: list, size: int) -> Timestamp:
    """A document timestamp, validated as pyHanko validates one (integrity, no network)."""
    from pyhanko.sign import validation
    from pyhanko_certvalidator import ValidationContext

    try:
        with _quiet("pyhanko", "pyhanko_certvalidator"):
            status = validation.validate_pdf_timestamp(
                embedded, ValidationContext(trust_roots=roots, allow_fetching=False), skip_diff=True)
        intact, when = status.intact and status.valid, status.timestamp
    except Exception:
        intact, when = False, dt.datetime.min.replace(tzinfo=dt.UTC)
    whole = embedded.byte_range[2] + embedded.byte_range[3] == size if embedded.byte_range else False
    return Timestamp("document", when, _name(embedded.signer_cert), intact,
                     _valid_until(embedded.signed_data), whole_file=whole)


def _name(certificate) -> str:
    names = certificate.subject.native
    return names.get("common_name", certificate.subject.human_friendly)


def _valid_until(token) -> dt.datetime:
    """When a timestamp token stops being verifiable as it stands: the first end of validity among
    its authority's certificate and the issuers the token carries (a new timestamp must come before)."""
    from pyhanko.sign.general import extract_certificate_info

    certificates = extract_certificate_info(token)
    chain = [certificates.signer_cert, *certificates.other_certs]
    return min(certificate["tbs_certificate"]["validity"]["not_after"].native for certificate in chain)


def _store_counts(reader) -> tuple[int, int, int]:
    """How many certificates, OCSP responses and CRLs the document security store holds."""
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko.sign.validation.errors import ValidationInfoReadingError

    try:
        store = DocumentSecurityStore.read_dss(reader)
    except ValidationInfoReadingError:
        return 0, 0, 0
    return len(store.certs), len(store.ocsps), len(store.crls)


def long_term(embedded, reader, roots: list, at: dt.datetime | None, level: str,
              counts: tuple[int, int, int]) -> LongTerm:
    """The signature validated as of `at` (now by default) with what the file carries alone: its
    certificates, the document security store, the timestamps as proof of existence (ETSI EN 319
    102-1, 5.6.3, by pyHanko), the status of every certificate required; the network never used.
    Without `roots` (--trust), the chain is validated against the roots the file carries."""
    import asyncio

    from pyhanko.sign.ades.report import AdESPassed
    from pyhanko.sign.validation import ades
    from pyhanko.sign.validation.policy_decl import (
        CertificateFetchingRule,
        LocalKnowledge,
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator import policy_decl
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
    from pyhanko_certvalidator.registry import SimpleTrustManager

    moment = at or dt.datetime.now(dt.UTC)
    anchors = roots or _carried_roots(embedded, reader)
    described = "the certificates given with --trust" if roots else (
        "the root the file carries (" + ", ".join(_name(root) for root in anchors) + "), not one you named "
        "with --trust" if anchors else "no root: the file carries none and none was given with --trust")
    stamps = reader.embedded_timestamp_signatures
    assumed = []
    if stamps:  # what offline validation cannot know: the newest authority's status since then
        from pyhanko_certvalidator.policy_decl import NonRevokedStatusAssertion

        assumed = [NonRevokedStatusAssertion(stamps[-1].signer_cert.sha256, at=moment)]
    spec = PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(anchors),
            revinfo_policy=policy_decl.CertRevTrustPolicy(
                revocation_checking_policy=policy_decl.REQUIRE_REVINFO)),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
            certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH),
        local_knowledge=LocalKnowledge(nonrevoked_assertions=assumed)))
    timing = ValidationTimingInfo(validation_time=moment, best_signature_time=moment,
                                  point_in_time_validation=at is not None)
    try:
        with _quiet("pyhanko", "pyhanko_certvalidator"):
            result = asyncio.run(ades.ades_lta_validation(embedded, spec, timing_info=timing))
        passed = result.ades_subindic == AdESPassed.OK
        problem = None if passed else _why(result)
    except Exception as exc:
        passed, problem = False, f"{type(exc).__name__}: {str(exc)[:160]}"
    return LongTerm(moment, passed, problem, _name(stamps[-1].signer_cert) if stamps else None, described,
                    counts)


def _why(result) -> str:
    """pyHanko's sub-indication in words (ETSI EN 319 102-1, table 6), with its own message."""
    words = {"NO_POE": "nothing in the file proves that the signature existed while its certificates "
                       "were valid",
             "OUT_OF_BOUNDS_NO_POE": "a certificate had expired or was revoked at the time proven",
             "REVOKED_NO_POE": "a certificate was revoked, and nothing proves the signature existed before",
             "TRY_LATER": "the status of a certificate is not known yet",
             "CERTIFICATE_CHAIN_GENERAL_FAILURE": "the chain cannot be validated with the data in the file",
             "NO_CERTIFICATE_CHAIN_FOUND": "no chain to a trusted root"}
    name = result.ades_subindic.name
    message = getattr(result, "failure_msg", None) or ""
    said = words.get(name, name.lower().replace("_", " "))
    return f"{said} ({name}{': ' + message[:140] if message else ''})"


def _carried_roots(embedded, reader) -> list:
    """The self-signed certificates the signature and the document security store carry."""
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko.sign.validation.errors import ValidationInfoReadingError

    found = [certificate for certificate in embedded.other_embedded_certs]
    with contextlib.suppress(ValidationInfoReadingError):
        found += list(DocumentSecurityStore.read_dss(reader).load_certs())
    unique = {certificate.sha256: certificate for certificate in found if certificate.self_signed != "no"}
    return list(unique.values())


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
