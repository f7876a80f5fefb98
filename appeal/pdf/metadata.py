"""One metadata model for every PDF the tool finishes, written to the Info dictionary and to XMP alike.

The handouts and sign-on sheets get theirs from WeasyPrint (the HTML's <meta>); the archive, the
press editions, the booklets, the letter packs and the print file are described here, so that
the two places a reader looks (Info for older readers, XMP for PDF/A, PDF/X and search engines)
say the same, and the mark "made by this tool" is written one way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from xml.sax.saxutils import escape

import pikepdf

TOOL = "appeal-edition"


def mark(version: str, kind: str) -> str:
    """The mark of this tool in a file's Creator: `appeal-edition 1.0.0 (booklet, a5)`.
    verify and sign tell an edition by it (verify/reading.py)."""
    return f"{TOOL} {version} ({kind})"


def info_date(moment: dt.date | dt.datetime) -> str:
    """A date for the PDF information dictionary (ISO 32000-1, 7.9.4), in UTC: D:20250616000000Z."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime(moment.year, moment.month, moment.day, tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("D:%Y%m%d%H%M%SZ")


def xmp_date(moment: dt.date | dt.datetime) -> str:
    """A date for XMP (ISO 8601), in UTC: 2025-06-16T00:00:00Z."""
    if not isinstance(moment, dt.datetime):
        return f"{moment.isoformat()}T00:00:00Z"
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


XMP_BEGIN = '''<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"'''
XMP_END = """  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>"""


@dataclass(frozen=True)
class Metadata:
    """What a PDF says about itself."""

    title: str
    author: str
    subject: str
    created: dt.date | dt.datetime
    modified: dt.date | dt.datetime
    creator: str  # the tool's mark (mark()), with more for the archive
    producer: str  # the stack that made the file, or the tool's name
    keywords: str | None = None
    language: str | None = None  # BCP 47, for the catalogue's /Lang

    def info(self) -> dict[str, str]:
        """The information dictionary's entries, in the order the print file writes them."""
        entries = {"/Title": self.title, "/Author": self.author, "/Subject": self.subject}
        if self.keywords is not None:
            entries["/Keywords"] = self.keywords
        return entries | {"/CreationDate": info_date(self.created), "/ModDate": info_date(self.modified),
                          "/Producer": self.producer, "/Creator": self.creator}

    def write_info(self, pdf: pikepdf.Pdf, replace: bool = True, **names: str) -> None:
        """Give `pdf` this information dictionary: with `replace`, these entries only (in the
        dictionary it has, emptied, or a new one), else these set among those it has (WeasyPrint's).
        `names` add entries whose values are PDF names (Trapped="False")."""
        entries = {key: pikepdf.String(value) for key, value in self.info().items()}
        entries |= {f"/{key}": pikepdf.Name(f"/{value}") for key, value in names.items()}
        if replace and "/Info" not in pdf.trailer:
            pdf.docinfo = pdf.make_indirect(pikepdf.Dictionary(entries))
            return
        info = pdf.docinfo
        if replace:
            for key in list(info.keys()):
                del info[key]
        for key, value in entries.items():
            info[key] = value

    def xmp(self, namespaces: str = "", claims: str = "") -> bytes:
        """An XMP packet saying what the information dictionary says, with `namespaces` declared
        and `claims` added: the standards the file claims and what they require besides."""
        x = escape
        declared = f"\n{namespaces}" if namespaces else ""
        return f"""{XMP_BEGIN}{declared}>
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{x(self.title)}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{x(self.author)}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{x(self.subject)}</rdf:li></rdf:Alt></dc:description>
   <pdf:Producer>{x(self.producer)}</pdf:Producer>
   <xmp:CreatorTool>{x(self.creator)}</xmp:CreatorTool>
   <xmp:CreateDate>{xmp_date(self.created)}</xmp:CreateDate>
   <xmp:ModifyDate>{xmp_date(self.modified)}</xmp:ModifyDate>
   <xmp:MetadataDate>{xmp_date(self.modified)}</xmp:MetadataDate>
{claims}
{XMP_END}""".encode()

    def write(self, pdf: pikepdf.Pdf, namespaces: str = "", claims: str = "", replace: bool = True,
              **names: str) -> None:
        """Both: the information dictionary and the XMP stream (uncompressed: PDF/A wants it
        readable as it stands)."""
        self.write_info(pdf, replace, **names)
        pdf.Root.Metadata = pdf.make_stream(self.xmp(namespaces, claims), Type=pikepdf.Name.Metadata,
                                            Subtype=pikepdf.Name.XML)
