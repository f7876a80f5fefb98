"""Attack files, made here as a hostile user would make them: incremental updates appended by hand
(so that nothing else of the file changes, as pyHanko's or qpdf's writers would), streams that
inflate without end, objects nested past what readers agree on."""

from __future__ import annotations

import re
import zlib
from io import BytesIO

import pikepdf


def serialise(value: pikepdf.Object | bytes) -> bytes:
    """One object's bytes, as it stands in a file (a stream given as (dictionary, raw data))."""
    if isinstance(value, bytes):
        return value
    return value.unparse()


def stream(entries: dict, data: bytes, compress: bool = True) -> bytes:
    """A stream object's bytes: its dictionary (with /Length and the filter) and `data`."""
    raw = zlib.compress(data, 9) if compress else data
    dictionary = pikepdf.Dictionary({**entries, "/Length": len(raw),
                                     **({"/Filter": pikepdf.Name.FlateDecode} if compress else {})})
    return dictionary.unparse() + b"\nstream\n" + raw + b"\nendstream"


def append_revision(data: bytes, objects: dict[int, bytes]) -> bytes:
    """`data` with an incremental update appended that sets each object number to the given bytes:
    the new objects, a cross-reference table listing only them, and a trailer pointing back."""
    with pikepdf.open(BytesIO(data)) as pdf:
        root, info = pdf.trailer.Root.objgen[0], pdf.trailer.Info.objgen[0]
        identifier = pdf.trailer.ID
        size = int(pdf.trailer.Size)
        first = bytes(identifier[0]).hex()
    previous = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    out = bytearray(data if data.endswith(b"\n") else data + b"\n")
    offsets = {}
    for number, content in sorted(objects.items()):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + content + b"\nendobj\n"
    where = len(out)
    out += b"xref\n"
    for number in sorted(offsets):
        out += f"{number} 1\n{offsets[number]:010d} 00000 n \n".encode()
    size = max(size, max(objects) + 1)
    out += (f"trailer\n<< /Size {size} /Root {root} 0 R /Info {info} 0 R /ID [<{first}> <{first}>] "
            f"/Prev {previous} >>\nstartxref\n{where}\n%%EOF\n").encode()
    return bytes(out)


def source_stream(data: bytes) -> tuple[int, pikepdf.Dictionary, bytes]:
    """The embedded appeal.yaml: its object number, its dictionary, its decoded data."""
    with pikepdf.open(BytesIO(data)) as pdf:
        spec = pdf.attachments["appeal.yaml"]
        ef = spec.obj.EF.F
        entries = pikepdf.Dictionary({k: v for k, v in ef.stream_dict.items()
                                      if k not in ("/Length", "/Filter", "/DecodeParms")})
        return ef.objgen[0], pikepdf.Dictionary(entries), ef.read_bytes()


def swap_source(data: bytes, old: bytes, new: bytes) -> bytes:
    """An update appended that replaces the embedded source by one with `old` replaced by `new`."""
    number, entries, source = source_stream(data)
    assert old in source
    changed = source.replace(old, new)
    entries = {k: v for k, v in entries.items() if k != "/Params"}
    return append_revision(data, {number: stream(entries, changed)})


def nested(depth: int) -> bytes:
    """A dictionary `depth` levels deep, as bytes."""
    return b"<< /N " * depth + b"1" + b" >>" * depth


def form_drawing(text: bytes, font_name: str, font_number: int, depth: int) -> bytes:
    """A form XObject that writes `text` in the page's font, its dictionary nesting `depth` levels."""
    content = b"BT /" + font_name.encode() + b" 10 Tf 60 400 Td (" + text + b") Tj ET"
    raw = content
    return (b"<< /Type /XObject /Subtype /Form /BBox [0 0 600 800] /Resources << /Font << /"
            + font_name.encode() + f" {font_number} 0 R >> >> /Deep ".encode() + nested(depth)
            + f" /Length {len(raw)} >>\nstream\n".encode() + raw + b"\nendstream")


def self_signed(folder, name: str, organisation: str = "Joint Appeal", bits: int = 2048):
    """A key without a password and its self-signed certificate, named like the campaign's signer
    (an impostor's is made the same way): the PKCS#12 file and the certificate's PEM file."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Campaign Signer"),
                         x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, organisation)])
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(start + dt.timedelta(days=36500))
                   .sign(key, hashes.SHA256()))
    p12, pem = folder / f"{name}.p12", folder / f"{name}.pem"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(name.encode(), key, certificate, None,
                                                          serialization.NoEncryption()))
    p12.chmod(0o600)  # as the README makes them: signing warns of a key others can read
    pem.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return p12, pem
