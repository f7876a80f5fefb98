"""Long-term validation: a signature's validation data and document timestamps (PAdES B-LT, B-LTA).

A signature made with a timestamp (B-T) proves when it was made, not that the signer's
certificate was then valid; once that certificate has expired, or its authority's revocation
service is gone, no one can check it. So, after signing, the file receives two revisions
(ETSI EN 319 142-1, 5.4 and 5.5), and one more every few years:

- B-LT: the document security store (DSS): every certificate of the signer's chain and of the
  timestamp authority's, and an OCSP response or CRL for each, fetched when signing (once a
  build, at most CONTEXT_LIFE before a signature: a run of letters asks each authority once).
- B-LTA: a document timestamp over all of it, in a signature field of its own, with the
  validation data of its own authority added to the store just before it.
- An extension (`build.py sign --extend`): fresh validation data for the newest timestamp and a
  new document timestamp over everything, before that timestamp's certificate expires.

Each is an incremental update; the revisions before it are never touched. The archive stays
PDF/A-3a and PDF/UA-1: the information dictionary and XMP are left as the build wrote them,
and a document timestamp's field lies outside every page's crop box, with the Print flag and a
zero-size rectangle: it is no content of the page, and ISO 14289-1 (7.18.1) asks no tag of an
annotation outside the crop box. Tagging it instead would mean changing the structure tree
after the signature, which validators (pyHanko's among them) rightly take as a change to the
signed document.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Iterable
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from appeal.errors import UserError

# A document timestamp token: the authority's signature and its chain, about 4 kB as DER, written
# as hexadecimal (twice that), with room for a chain of four.
TIMESTAMP_RESERVED = 24 * 1024
# A document timestamp's field: outside the crop box of the last page (ISO 32000-1, 12.5.2: a
# rectangle in default user space; the archive's pages start at 0, 0), zero-size, printable.
_OFF_PAGE = (-1, -1, -1, -1)
_PRINT_LOCKED = 4 | 128
FIELD_PREFIX = "Document timestamp"
# How long the fetching of one certificate's status may take, in seconds.
FETCH_TIMEOUT = 20


def kept_metadata_writer(stream: BinaryIO):
    """A pyHanko writer appending one revision to `stream` that leaves the information dictionary
    and the XMP as the build wrote them (pyHanko would rewrite the Producer and the modification
    date, and its XMP breaks the archive's PDF/A extension schema)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    class Writer(IncrementalPdfFileWriter):
        def _update_meta(self) -> None:
            pass

    return Writer(stream, strict=False)


def validation_context(anchors: Iterable = (), *, fetching: bool):
    """pyHanko's validation context: `anchors` (asn1crypto certificates) and the roots of Mozilla's
    CA list as certifi ships it (what `requests` trusts for HTTPS; the same on every machine, where
    the operating system's list is not) trusted, revocation required for every certificate of a
    path; fetching over HTTP with `requests` (one event loop per call of pyHanko's synchronous API)
    or none at all. A context keeps what it fetched: a run of letters asks each certificate's
    status once. Its time is fixed when it is made, and an answer issued after it is refused as
    too recent; a run lasts minutes, so answers up to CONTEXT_LIFE later are taken."""
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

    return ValidationContext(
        trust_roots=[*anchors, *_public_roots()], allow_fetching=fetching, revocation_mode="hard-fail",
        fetcher_backend=RequestsFetcherBackend(per_request_timeout=FETCH_TIMEOUT) if fetching else None,
        time_tolerance=CONTEXT_LIFE)


# How long one context serves a run (Signing.context makes a new one after): long enough for
# thousands of letters, short enough that a status it fetched stays recent.
CONTEXT_LIFE = dt.timedelta(minutes=30)


@functools.cache
def _public_roots() -> tuple:
    """The root certificates of Mozilla's CA list, from certifi (a dependency of `requests`)."""
    import certifi
    from asn1crypto import pem
    from asn1crypto import x509 as asn1

    with open(certifi.where(), "rb") as bundle:
        return tuple(asn1.Certificate.load(der) for _, _, der in pem.unarmor(bundle.read(), multiple=True))


def _run(coroutine):
    return asyncio.run(coroutine)


def _refusal(exc: Exception, whose: str) -> UserError:
    """What pyHanko's certificate validator says, as one line a user can act on."""
    from pyhanko_certvalidator.errors import (
        ExpiredError,
        InsufficientRevinfoError,
        PathBuildingError,
        RevokedError,
    )

    if isinstance(exc, RevokedError):
        return UserError(f"{whose} is revoked ({exc}); nothing is signed with it")
    if isinstance(exc, ExpiredError):
        return UserError(f"{whose} has expired or is not yet valid ({exc})")
    if isinstance(exc, PathBuildingError):
        return UserError(f"{whose} does not chain to a trusted root ({exc}); give the root with --trust")
    if isinstance(exc, InsufficientRevinfoError):
        return UserError(f"the status of {whose} could not be fetched from its authority ({exc}); "
                         "long-term validation needs its OCSP responder or CRL to answer")
    return UserError(f"{whose} could not be validated: {type(exc).__name__}: {exc}")


async def _path(certificate, others, context, usage: set[str], extended: set[str] | None = None):
    from pyhanko_certvalidator import CertificateValidator

    validator = CertificateValidator(certificate, intermediate_certs=list(others), validation_context=context)
    return await validator.async_validate_usage(usage, extended)


def signer_path(certificate, chain, context, whose: str):
    """The signer's certificate validated now, its status fetched: the path, or a UserError that
    says it is revoked, expired, untrusted or of unknown status."""
    try:
        return _run(_path(certificate, chain, context, set()))
    except Exception as exc:
        raise _refusal(exc, whose) from None


def _timestamp_paths(tokens, context) -> list:
    """The validated paths of the authorities that signed `tokens` (the SignedData of timestamp
    tokens), their status fetched now."""
    from pyhanko.sign.general import extract_certificate_info

    paths = []
    for token in tokens:
        certificates = extract_certificate_info(token)
        whose = f"the timestamp authority's certificate ({certificates.signer_cert.subject.human_friendly})"
        try:
            paths.append(_run(_path(certificates.signer_cert, certificates.other_certs, context, set(),
                                    {"time_stamping"})))
        except Exception as exc:
            raise _refusal(exc, whose) from None
    return paths


def _supply(writer, paths: list, context) -> None:
    """The document security store given the certificates of `paths` and, for each certificate,
    the newest OCSP response the context holds about it, and the CRLs of their issuers (and no
    other: a context serves a whole run of letters, each pack carries its own chain's status)."""
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    wanted = {certificate.serial_number for path in paths for certificate in path}
    newest: dict[int, tuple] = {}
    for response in context.ocsps:
        basic = response["response_bytes"]["response"].parsed["tbs_response_data"]
        produced = basic["produced_at"].native
        for single in basic["responses"]:
            serial = single["cert_id"]["serial_number"].native
            if serial in wanted and (serial not in newest or newest[serial][0] < produced):
                newest[serial] = (produced, response)
    issuers = {certificate.issuer.sha256 for path in paths for certificate in path}
    crls = [crl for crl in context.crls if crl["tbs_cert_list"]["issuer"].sha256 in issuers]
    DocumentSecurityStore.supply_dss_in_writer(
        writer, None, paths=paths, ocsps=list(dict.fromkeys(response for _, response in newest.values())),
        crls=crls)


def add_validation_data(source: BinaryIO, target: BinaryIO, context) -> None:
    """PAdES B-LT: the file in `source` with a revision adding the document security store: the
    signer's chain and its signature timestamp authority's, each certificate with its status as
    the context holds it or fetches it now. Written to `target`."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(source, strict=False)
    signatures = reader.embedded_regular_signatures
    if len(signatures) != 1:
        raise UserError("long-term validation data is added to a file with one signature, "
                        f"not {len(signatures)}")
    signature = signatures[0]
    whose = f"the certificate of {signature.signer_cert.subject.human_friendly}"
    paths = [signer_path(signature.signer_cert, signature.other_embedded_certs, context, whose)]
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter

    tokens = list(extract_tst_data_iter(signature.signer_info, signed=False))
    if not tokens:
        raise UserError("long-term validation needs a signature timestamp (--timestamp-url)")
    paths += _timestamp_paths(tokens, context)
    source.seek(0)
    _copy(source, target)
    writer = kept_metadata_writer(target)
    _supply(writer, paths, context)
    no_stream_ends_in_cr(writer)
    writer.write_in_place()


def add_document_timestamp(source: BinaryIO, target: BinaryIO, stamper, context, *,
                           renewing: bool = False) -> None:
    """PAdES B-LTA: the file in `source` with a revision adding the validation data of the newest
    timestamp's authority (when `renewing`: what an extension must keep current) and of the
    authority about to stamp, then a document timestamp over everything. Written to `target`."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.signers.pdf_signer import PdfTimeStamper

    reader = PdfFileReader(source, strict=False)
    existing = reader.embedded_timestamp_signatures
    if renewing and not existing:
        raise UserError("has no document timestamp to renew: sign it with --ltv first (PAdES B-LTA)")
    # Renewing: the newest timestamp's authority, its status now, for the timestamp to come to cover.
    paths = _timestamp_paths([existing[-1].signed_data], context) if renewing else []
    try:
        paths += _run(_collect(stamper.validation_paths(context)))
    except UserError:
        raise
    except Exception as exc:
        raise _refusal(exc, "the timestamp authority's certificate") from None
    name = f"{FIELD_PREFIX} {len(existing) + 1}"
    source.seek(0)
    _copy(source, target)
    writer = kept_metadata_writer(target)
    _supply(writer, paths, context)
    off_page_field(writer, name, f"{name}: proves that this file existed, as it is up to this "
                                 "timestamp, at the time it states (PAdES long-term validation)")
    no_stream_ends_in_cr(writer)
    try:
        # No validation context: the store was completed above, in this revision; pyHanko would
        # otherwise append one more revision after the timestamp, with its own metadata.
        PdfTimeStamper(stamper, field_name=name).timestamp_pdf(
            writer, "sha256", None, bytes_reserved=TIMESTAMP_RESERVED, in_place=True)
    except UserError:
        raise
    except Exception as exc:  # the authority refusing or unreachable
        raise UserError(f"the document timestamp failed: {exc}") from None


async def _collect(generator) -> list:
    return [item async for item in generator]


def off_page_field(writer, name: str, description: str) -> None:
    """An empty signature field for a document timestamp, on the last page but outside its crop
    box (see the module's docstring), described by `description` (its /TU), with an empty
    appearance as the build's own signature field has (Ghostscript warns of a field without one)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name, pdf_string

    page_ref = writer.find_page_for_modification(-1)[0]
    page = page_ref.get_object()
    appearance = writer.add_object(generic.StreamObject({
        pdf_name("/Type"): pdf_name("/XObject"), pdf_name("/Subtype"): pdf_name("/Form"),
        pdf_name("/BBox"): generic.ArrayObject([generic.NumberObject(0)] * 4)}, stream_data=b"q Q"))
    widget = writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/Widget"),
        pdf_name("/FT"): pdf_name("/Sig"), pdf_name("/T"): pdf_string(name),
        pdf_name("/TU"): pdf_string(description), pdf_name("/F"): generic.NumberObject(_PRINT_LOCKED),
        pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(v) for v in _OFF_PAGE]),
        pdf_name("/P"): page_ref, pdf_name("/AP"): generic.DictionaryObject({pdf_name("/N"): appearance})}))
    if "/Annots" not in page:
        page[pdf_name("/Annots")] = generic.ArrayObject([widget])
        writer.update_container(page)
    else:
        annotations = page["/Annots"]
        annotations.append(widget)
        writer.update_container(annotations)
    form = writer.root["/AcroForm"]
    form["/Fields"].append(widget)
    writer.update_container(form["/Fields"])


def no_stream_ends_in_cr(writer) -> None:
    """No stream this revision writes ends in a carriage return: pyHanko writes a line feed before
    `endstream`, which after data ending in 0x0D reads as one CR LF, and PDF/A's length rule
    (ISO 19005-2, 6.1.7.1) then counts a byte too few. A certificate or an OCSP response ends in
    its signature's bytes, so about one in 256 does; such a stream is written in hexadecimal
    (ASCIIHexDecode, ending in `>`), as pdf/pdfa.py gives the archive's own an ASCII85 layer."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name

    for obj in writer.objects.values():
        if isinstance(obj, generic.StreamObject) and obj.encoded_data.endswith(b"\r"):
            obj.apply_filter(pdf_name("/ASCIIHexDecode"))


def _copy(source: BinaryIO, target: BinaryIO) -> None:
    while chunk := source.read(1 << 20):
        target.write(chunk)


def long_term(data: bytes, stamper, context) -> bytes:
    """`data`, signed with a timestamp, made B-LTA: its validation data, then a document timestamp."""
    lt = BytesIO()
    add_validation_data(BytesIO(data), lt, context)
    lta = BytesIO()
    add_document_timestamp(BytesIO(lt.getvalue()), lta, stamper, context)
    return lta.getvalue()


def long_term_file(source: Path, target: Path, stamper, context) -> None:
    """`source`, signed with a timestamp, made B-LTA into `target`, streamed through a file beside
    it (the print file of thousands of letters)."""
    between = target.with_name(target.name + ".lt")
    try:
        with source.open("rb") as signed, between.open("w+b") as lt:
            add_validation_data(signed, lt, context)
            lt.seek(0)
            with target.open("w+b") as lta:
                add_document_timestamp(lt, lta, stamper, context)
    finally:
        between.unlink(missing_ok=True)


def extend(data: bytes, stamper, context) -> bytes:
    """`data`, already B-LTA, with fresh validation data and a new document timestamp."""
    out = BytesIO()
    add_document_timestamp(BytesIO(data), out, stamper, context, renewing=True)
    return out.getvalue()


def roots_in(data: bytes) -> list:
    """The self-signed certificates of a file's document security store (the roots its signing
    validated against): what an extension fetches fresh validation data against."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko.sign.validation.errors import ValidationInfoReadingError

    try:
        store = DocumentSecurityStore.read_dss(PdfFileReader(BytesIO(data), strict=False))
    except ValidationInfoReadingError:
        return []
    return [certificate for certificate in store.load_certs() if certificate.self_signed != "no"]
