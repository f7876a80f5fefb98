"""The press editions' finishing: PDF/X-4 for a print shop's preflight, and what proves it.

WeasyPrint lays the pages out in CMYK with their bleed (styles/press.css); it writes no output
intent without a colour profile rule, a random document UUID and the clock's dates in PDF/X mode,
and RGB crop marks inside the bleed. So the file is finished here with pikepdf instead: the
output intent with its profile, one XMP packet claiming PDF/X-4, with identifiers derived from
the content, matching information, no annotations, and crop marks in black outside the bleed
when asked for.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pikepdf
from pikepdf import Name

from appeal.errors import UserError
from appeal.inputs.source import read_limited
from appeal.paths import DEFAULT_PROFILE
from appeal.pdf.metadata import Metadata

MM = 72 / 25.4
BLEED = 3 * MM
# With --marks: how far the media reaches beyond the bleed, and where the marks stand in it.
MARKS_MARGIN = 12 * MM
MARK_GAP, MARK_LENGTH = 2 * MM, 6 * MM
PROFILE_LIMIT = 16 * 2**20


@dataclass(frozen=True)
class OutputIntent:
    """The printing condition the press editions are made for, and its ICC profile."""

    profile: bytes
    identifier: str  # OutputConditionIdentifier: a registered condition, or "Custom"
    condition: str  # human-readable description
    registry: str = "http://www.color.org"


FOGRA39 = ("FOGRA39", "Offset printing on coated paper (paper types 1 and 2), ISO 12647-2:2004/Amd 1, "
           "characterization data FOGRA39L")


def output_intent(path: Path | None) -> OutputIntent:
    """The bundled FOGRA39 profile, or the print shop's own (`--output-profile`), checked to be an
    ICC output profile in CMYK; a UserError says what is wrong with it."""
    profile_path = path or DEFAULT_PROFILE
    data = read_limited(profile_path, "output profile (--output-profile, an ICC file)", PROFILE_LIMIT)
    problem = _profile_problem(data)
    if problem:
        raise UserError(f"{profile_path}: {problem} (--output-profile takes an ICC output profile in CMYK)")
    if path is None:
        return OutputIntent(data, *FOGRA39)
    return OutputIntent(data, "Custom", profile_description(data) or profile_path.name)


def _profile_problem(data: bytes) -> str | None:
    if len(data) > PROFILE_LIMIT:
        return f"larger than {PROFILE_LIMIT // 2**20} MB"
    if len(data) < 132 or data[36:40] != b"acsp":
        return "not an ICC profile"
    if struct.unpack(">I", data[:4])[0] != len(data):
        return "an ICC profile whose header gives another size than the file's: truncated?"
    if data[16:20] != b"CMYK":
        return f"a profile of {data[16:20].decode('latin-1').strip()} colour, not CMYK"
    if data[12:16] != b"prtr":
        return f"a profile of class {data[12:16].decode('latin-1')!r}, not an output (printer) profile"
    return _tag_problem(data)


# What an output profile must hold for a RIP to convert with it (ICC.1:2010, 8.5): a description,
# the white point (v2; v4 keeps it in the header too) and the transforms from and to the PCS.
_REQUIRED_TAGS = (b"desc", b"A2B0", b"B2A0", b"gamt")


def _tag_problem(data: bytes) -> str | None:
    """The tag table checked: every tag inside the file, the tags an output profile needs present,
    and its description readable."""
    count = struct.unpack(">I", data[128:132])[0]
    if 132 + 12 * count > len(data):
        return f"an ICC profile whose tag table ({count} tags) runs past its end: truncated?"
    tags = {}
    for index in range(count):
        signature, offset, size = struct.unpack(">4sII", data[132 + 12 * index: 144 + 12 * index])
        if offset + size > len(data) or size < 8:
            return f"an ICC profile whose {signature.decode('latin-1')!r} tag lies outside the file"
        tags[signature] = (offset, size)
    missing = [tag.decode() for tag in _REQUIRED_TAGS if tag not in tags]
    if missing:
        return f"an ICC profile without the {', '.join(missing)} tag{'s' if len(missing) > 1 else ''} " \
               "an output profile needs"
    try:
        profile_description(data, strict=True)
    except (ValueError, struct.error) as exc:
        return f"an ICC profile whose description cannot be read ({exc})"
    return None


def profile_description(data: bytes, strict: bool = False) -> str | None:
    """The profile's `desc` tag: ICC v2 text description or v4 multi-localized unicode; with
    `strict`, a description that is cut short or of another type is a ValueError."""
    count = struct.unpack(">I", data[128:132])[0]
    for index in range(min(count, 200)):
        signature, offset, size = struct.unpack(">4sII", data[132 + 12 * index: 144 + 12 * index])
        if signature != b"desc" or offset + size > len(data):
            continue
        tag = data[offset: offset + size]
        if tag[:4] == b"desc" and len(tag) >= 12:
            length = struct.unpack(">I", tag[8:12])[0]
            if strict and 12 + length > len(tag):
                raise ValueError(f"its text of {length} bytes runs past the tag's {len(tag)}")
            return tag[12: 12 + length].rstrip(b"\0").decode("latin-1").strip() or None
        if tag[:4] == b"mluc" and len(tag) >= 16:
            records = struct.unpack(">I", tag[8:12])[0]
            if records and len(tag) >= 28:
                length, start = struct.unpack(">II", tag[20:28])
                if strict and start + length > len(tag):
                    raise ValueError(f"its text of {length} bytes runs past the tag's {len(tag)}")
                return tag[start: start + length].decode("utf-16-be", "replace").strip() or None
        if strict:
            raise ValueError(f"it is of type {tag[:4].decode('latin-1')!r}, not 'desc' or 'mluc'")
        return None
    return None


def finish(pdf_data: bytes, metadata: Metadata, intent: OutputIntent, marks: bool = False) -> bytes:
    """WeasyPrint's CMYK pages with their bleed made PDF/X-4 (module docstring)."""
    content_id = hashlib.sha256(pdf_data + intent.profile).hexdigest()
    with pikepdf.open(BytesIO(pdf_data)) as pdf:
        for page in pdf.pages:
            if "/Annots" in page.obj:
                del page.obj["/Annots"]  # nothing to click on paper; PDF/X wants none in the trim
            resources = page.obj.get("/Resources")
            if resources is not None and "/ColorSpace" in resources:
                del resources["/ColorSpace"]  # WeasyPrint's Lab spaces, defined and never used
            if marks:
                crop_marks(pdf, page)
        profile = pdf.make_stream(intent.profile, N=4, Alternate=Name.DeviceCMYK)
        pdf.Root.OutputIntents = pikepdf.Array([pikepdf.Dictionary(
            Type=Name.OutputIntent, S=Name.GTS_PDFX, OutputConditionIdentifier=intent.identifier,
            OutputCondition=intent.condition, Info=intent.condition, RegistryName=intent.registry,
            DestOutputProfile=profile)])
        pdf.Root.Metadata = pdf.make_stream(xmp_packet(metadata, content_id), Type=Name.Metadata,
                                            Subtype=Name.XML)
        metadata.write_info(pdf, Trapped="False")
        pdf.docinfo.GTS_PDFXVersion = "PDF/X-4"
        out = BytesIO()
        pdf.save(out, deterministic_id=True, compress_streams=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.preserve)
    return out.getvalue()


def xmp_packet(metadata: Metadata, content_id: str) -> bytes:
    """XMP claiming PDF/X-4 (ISO 15930-7), with the document and instance identifiers derived from
    the content: the same pages and profile give the same identifiers, so the bytes reproduce."""
    document = uuid.uuid5(uuid.NAMESPACE_URL, f"appeal-edition:press:{content_id}")
    namespaces = '''    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:pdfxid="http://www.npes.org/pdfx/ns/id/"'''
    claims = f"""   <pdf:Trapped>False</pdf:Trapped>
   <xmpMM:DocumentID>uuid:{document}</xmpMM:DocumentID>
   <xmpMM:InstanceID>uuid:{document}</xmpMM:InstanceID>
   <xmpMM:VersionID>1</xmpMM:VersionID>
   <xmpMM:RenditionClass>default</xmpMM:RenditionClass>
   <pdfxid:GTS_PDFXVersion>PDF/X-4</pdfxid:GTS_PDFXVersion>"""
    return metadata.xmp(namespaces, claims)


def crop_marks(pdf: pikepdf.Pdf, page: pikepdf.Page) -> None:
    """Crop marks at the trim's corners, in 100 % black, entirely outside the bleed: the media
    grows by MARKS_MARGIN beyond the BleedBox to hold them."""
    left, bottom, right, top = (float(v) for v in page.obj.TrimBox)
    bleed_left, bleed_bottom, bleed_right, bleed_top = (float(v) for v in page.obj.BleedBox)
    page.obj.MediaBox = [bleed_left - MARKS_MARGIN, bleed_bottom - MARKS_MARGIN,
                         bleed_right + MARKS_MARGIN, bleed_top + MARKS_MARGIN]
    page.obj.BleedBox = [bleed_left, bleed_bottom, bleed_right, bleed_top]
    if "/CropBox" in page.obj:
        del page.obj["/CropBox"]
    lines = []
    for x, side_x in ((left, bleed_left - MARK_GAP), (right, bleed_right + MARK_GAP)):
        outward = -1 if side_x < x else 1
        for y, side_y in ((bottom, bleed_bottom - MARK_GAP), (top, bleed_top + MARK_GAP)):
            upward = -1 if side_y < y else 1
            # A horizontal mark on the trim's y, beyond the bleed; a vertical one on its x.
            lines.append((side_x, y, side_x + outward * MARK_LENGTH, y))
            lines.append((x, side_y, x, side_y + upward * MARK_LENGTH))
    drawing = "q 0 0 0 1 K 0.25 w " + " ".join(
        f"{x1:.3f} {y1:.3f} m {x2:.3f} {y2:.3f} l S" for x1, y1, x2, y2 in lines) + " Q"
    page.contents_add(pdf.make_stream(drawing.encode()), prepend=False)


def problems(pdf_data: bytes, trim: tuple[float, float], marks: bool = False) -> list[str]:
    """What a print shop's preflight would reject in a press edition; the build refuses to write
    one with any: RGB anywhere, boxes other than the trim and its 3 mm bleed, an annotation, a
    font not embedded, encryption, a missing output intent or PDF/X-4 claim."""
    found: list[str] = []
    with pikepdf.open(BytesIO(pdf_data)) as pdf:
        if pdf.is_encrypted:
            found.append("the file is encrypted")
        intents = pdf.Root.get("/OutputIntents", [])
        if not any(i.get("/S") == Name.GTS_PDFX and "/DestOutputProfile" in i for i in intents):
            found.append("no PDF/X output intent with a profile")
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            if meta.get("pdfxid:GTS_PDFXVersion") != "PDF/X-4":
                found.append("the XMP claims no PDF/X-4")
        for number, page in enumerate(pdf.pages, 1):
            found += [f"page {number}: {problem}" for problem in _page_problems(page, trim, marks)]
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == Name.FontDescriptor and not any(
                    key in obj for key in ("/FontFile", "/FontFile2", "/FontFile3")):
                found.append(f"the font {obj.get('/FontName')} is not embedded")
    return found


def _page_problems(page: pikepdf.Page, trim: tuple[float, float], marks: bool) -> list[str]:
    found = []
    boxes = {key: [float(v) for v in page.obj[key]] for key in ("/MediaBox", "/BleedBox", "/TrimBox")
             if key in page.obj}
    width, height = trim
    if "/TrimBox" not in boxes or any(abs(a - b) > 0.01 for a, b in zip(boxes["/TrimBox"],
                                                                         (0, 0, width, height), strict=True)):
        found.append(f"TrimBox {boxes.get('/TrimBox')} is not the trim 0 0 {width:.2f} {height:.2f}")
    bleed = [-BLEED, -BLEED, width + BLEED, height + BLEED]
    if "/BleedBox" not in boxes or any(abs(a - b) > 0.01
                                       for a, b in zip(boxes["/BleedBox"], bleed, strict=True)):
        found.append(f"BleedBox {boxes.get('/BleedBox')} is not the trim and a 3 mm bleed")
    media = [bleed[0] - MARKS_MARGIN, bleed[1] - MARKS_MARGIN, bleed[2] + MARKS_MARGIN,
             bleed[3] + MARKS_MARGIN] if marks else bleed
    if any(abs(a - b) > 0.01 for a, b in zip(boxes["/MediaBox"], media, strict=True)):
        found.append(f"MediaBox {boxes['/MediaBox']} is not {'the marks around ' if marks else ''}the bleed")
    if "/Annots" in page.obj:
        found.append("an annotation")
    group = page.obj.get("/Group")
    if group is not None and _is_rgb(group.get("/CS")):
        found.append("a transparency group in RGB")
    found += [problem for problem in _content_problems(page.obj, page.obj.get("/Resources", {}), set())]
    return found


def _content_problems(holder, resources, seen: set) -> list[str]:
    """RGB in a content stream (rg/RG, or a colour space or image in RGB), its forms included."""
    found = []
    spaces = resources.get("/ColorSpace", {})
    for operands, operator in pikepdf.parse_content_stream(holder):
        name = str(operator)
        if name in ("rg", "RG"):
            found.append(f"an RGB colour ({name})")
        elif name in ("cs", "CS") and _is_rgb(spaces.get(str(operands[0]), operands[0])):
            found.append(f"an RGB colour space ({operands[0]})")
    for key, xobject in resources.get("/XObject", {}).items():
        if xobject.objgen in seen:
            continue
        seen.add(xobject.objgen)
        if xobject.get("/Subtype") == Name.Image and _is_rgb(xobject.get("/ColorSpace")):
            found.append(f"an RGB image ({key})")
        elif xobject.get("/Subtype") == Name.Form:
            group = xobject.get("/Group")
            if group is not None and _is_rgb(group.get("/CS")):
                found.append(f"a transparency group in RGB ({key})")
            found += _content_problems(xobject, xobject.get("/Resources", resources), seen)
    return found


def _is_rgb(space) -> bool:
    if space is None:
        return False
    if isinstance(space, pikepdf.Name):
        return space in (Name.DeviceRGB, Name.CalRGB)
    if isinstance(space, pikepdf.Array) and len(space):
        kind = space[0]
        if kind == Name.ICCBased:
            return int(space[1].get("/N", 0)) == 3
        return kind in (Name.CalRGB, Name.DeviceRGB) or (kind == Name.Indexed and _is_rgb(space[1]))
    return False
