"""The archival edition's finishing: PDF/A-3a and PDF/UA-1 together, its source data inside.

And the deposit edition's: the same pages as PDF/A-2a and PDF/UA-1, without any embedded file.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from xml.sax.saxutils import escape

import pikepdf
from pikepdf import Name

from appeal.inputs.endorsements import EMBEDDED_NAME
from appeal.inputs.models import Appeal
from appeal.pdf.metadata import Metadata, info_date, mark
from appeal.pdf.pdfua import restructure, signature_field

# The empty signature field every archive carries, for `build.py sign` to fill (pdf/sign.py).
SOURCE_NAME = "appeal.yaml"
SOURCE_MIME = "application/yaml"
TRANSLATION_NAME = "translation.yaml"  # a translation's archive: the translation, beside the original
ENDORSEMENTS_MIME = "text/csv"


@dataclass(frozen=True)
class ArchiveFacts:
    """What the archive says about itself, in its metadata and colophon."""

    appeal: Appeal
    source: bytes
    created: dt.datetime
    modified: dt.datetime
    stack: str
    edition: str
    version: str
    fingerprint: str
    endorsements: bytes | None = None  # the published endorsements (endorsements.published_csv)
    translation: bytes | None = None  # a translation's archive: the translation; `source` the original
    part: int = 3  # of ISO 19005: 3 embeds the sources (the archive), 2 embeds nothing (the deposit)

    @property
    def translation_sha256(self) -> str | None:
        return hashlib.sha256(self.translation).hexdigest() if self.translation is not None else None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source).hexdigest()

    @property
    def endorsements_sha256(self) -> str | None:
        return hashlib.sha256(self.endorsements).hexdigest() if self.endorsements is not None else None

    @property
    def creator_tool(self) -> str:
        # The mark `verify` reads: this tool, the edition, the fingerprint of the code, templates,
        # styles and words that laid it out, and the stack that made the file.
        return f"{mark(self.version, f'{self.edition}; fingerprint {self.fingerprint}')}; {self.stack}"

    @property
    def author(self) -> str:
        return self.appeal.authors

    @property
    def metadata(self) -> Metadata:
        appeal = self.appeal
        return Metadata(appeal.title, self.author, appeal.subject or appeal.title, self.created,
                        self.modified, self.creator_tool, self.stack, keywords=", ".join(appeal.keywords))


def xmp_packet(facts: ArchiveFacts) -> bytes:
    """XMP claiming PDF/A-3a (or -2a) and PDF/UA-1 at once, matching the Info dictionary entry for entry.

    PDF/A allows only predefined XMP schemas unless an extension schema declares the others, so
    the PDF/UA identification schema is declared in `pdfaExtension:schemas`.
    """
    appeal = facts.appeal
    x = escape
    namespaces = '''    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
    xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/"
    xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
    xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"
    xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#"'''
    claims = f"""   <dc:language><rdf:Bag><rdf:li>{x(appeal.language)}</rdf:li></rdf:Bag></dc:language>
   <dc:date><rdf:Seq><rdf:li>{appeal.date.isoformat()}</rdf:li></rdf:Seq></dc:date>
   <pdf:Keywords>{x(", ".join(appeal.keywords))}</pdf:Keywords>
   <pdfaid:part>{facts.part}</pdfaid:part>
   <pdfaid:conformance>A</pdfaid:conformance>
   <pdfuaid:part>1</pdfuaid:part>
   <pdfaExtension:schemas>
    <rdf:Bag>
     <rdf:li rdf:parseType="Resource">
      <pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>
      <pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>
      <pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>
      <pdfaSchema:property>
       <rdf:Seq>
        <rdf:li rdf:parseType="Resource">
         <pdfaProperty:name>part</pdfaProperty:name>
         <pdfaProperty:valueType>Integer</pdfaProperty:valueType>
         <pdfaProperty:category>internal</pdfaProperty:category>
         <pdfaProperty:description>Part of ISO 14289 followed</pdfaProperty:description>
        </rdf:li>
       </rdf:Seq>
      </pdfaSchema:property>
     </rdf:li>
    </rdf:Bag>
   </pdfaExtension:schemas>"""
    return facts.metadata.xmp(namespaces, claims)


def finish(pdf_data: bytes, facts: ArchiveFacts, paragraphs: dict[str, Sequence[int]] | None = None) -> bytes:
    """WeasyPrint's PDF/A-3a output made PDF/UA-1 too, with the source data embedded (PDF/A-2a
    output, for the deposit edition, with nothing embedded: `facts.part` 2).

    WeasyPrint 70 compresses the XMP stream (PDF/A forbids it), claims one standard at a time and
    may list an attachment twice in /AF; here the XMP is replaced whole and written uncompressed,
    and the associated files (the appeal's data, and the published endorsements if there are
    any) are attached by pikepdf with fixed dates.
    """
    with pikepdf.open(BytesIO(pdf_data)) as pdf:
        created, modified = info_date(facts.created), info_date(facts.modified)
        sources = [(SOURCE_NAME, facts.source, SOURCE_MIME, "The source data of this edition")]
        if facts.translation is not None:
            sources = [(SOURCE_NAME, facts.source, SOURCE_MIME,
                        "The source data of the original this edition translates"),
                       (TRANSLATION_NAME, facts.translation, SOURCE_MIME,
                        "The translation printed in this edition")]
        if facts.endorsements is not None:
            sources.append((EMBEDDED_NAME, facts.endorsements, ENDORSEMENTS_MIME,
                            "The published endorsements printed in this edition"))
        specs = []
        for name, data, mime, what in sources if facts.part == 3 else ():
            spec = pikepdf.AttachedFileSpec(
                pdf, data, filename=name, mime_type=mime,
                description=f"{what} (SHA-256 {hashlib.sha256(data).hexdigest()})",
                creation_date=created, mod_date=modified, relationship=Name.Source)
            pdf.attachments[name] = spec
            specs.append(spec.obj)
        restructure(pdf, paragraphs)
        signature_field(pdf, "Digital signature of the publisher of this edition")
        if specs:
            pdf.Root.AF = pikepdf.Array(specs)
        # The stream is left uncompressed: PDF/A requires the XMP to be readable as it stands.
        pdf.Root.Metadata = pdf.make_stream(xmp_packet(facts), Type=Name.Metadata, Subtype=Name.XML)
        facts.metadata.write_info(pdf, replace=False)
        out = BytesIO()
        pdf.save(out, deterministic_id=True, compress_streams=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.preserve)
    return no_stream_ends_in_cr(out.getvalue())


def ends_in_cr(raw: bytes) -> bool:
    """Whether a stream's data, as written, ends in a carriage return (no_stream_ends_in_cr)."""
    return raw.endswith(b"\r")


def no_stream_ends_in_cr(pdf_data: bytes) -> bytes:
    """`pdf_data` with no stream whose data ends in a carriage return.

    qpdf writes a line feed before `endstream`; after data ending in 0x0D that reads as a CR LF
    end of line, and PDF/A's stream length rule (ISO 19005-2, 6.1.7.1) then counts one byte too
    few. A Flate stream ends in the Adler-32 checksum of its data, so about one stream in 256
    ends so, whatever the compression (the archive of 2,500 signatories had one). Such a stream
    gets an ASCII85 encoding on top, whose data always ends in `~>`; the rest is left byte for byte.
    """
    with pikepdf.open(BytesIO(pdf_data)) as pdf:
        changed = 0
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream) and ends_in_cr(raw := obj.read_raw_bytes()):
                filters = obj.get("/Filter")
                filters = [] if filters is None else list(filters) if isinstance(filters, pikepdf.Array) \
                    else [filters]
                params = obj.get("/DecodeParms")
                obj.write(base64.a85encode(raw) + b"~>", filter=[Name.ASCII85Decode, *filters],
                          decode_parms=None if params is None else [None, *(
                              list(params) if isinstance(params, pikepdf.Array) else [params])])
                changed += 1
        if not changed:
            return pdf_data
        out = BytesIO()
        # Every other stream was compressed by the first save; this one keeps its new encoding.
        pdf.save(out, deterministic_id=True, compress_streams=False,
                 stream_decode_level=pikepdf.StreamDecodeLevel.none,
                 object_stream_mode=pikepdf.ObjectStreamMode.preserve)
        return out.getvalue()
