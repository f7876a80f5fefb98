"""A throwaway public-key infrastructure on 127.0.0.1, for the long-term signature tests and bench.

A root and an intermediate certificate authority, signers, a time-stamping authority (RFC 3161)
and an OCSP responder (RFC 6960) that answers for every certificate issued here, served by one
small HTTP server on a loopback port chosen by the system. Every certificate names that server
in its Authority Information Access, as a real one names its CA's responder, so that pyHanko
fetches the validation data from it exactly as it would from the internet. Nothing leaves the
machine; no private key is written anywhere but where a test asks for a PKCS#12 file.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

DAY = dt.timedelta(days=1)


def _name(common: str, organisation: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if organisation:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    return x509.Name(parts)


@dataclass
class Issued:
    """A certificate with its private key."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    issuer: Issued | None = None

    def pem(self, path: Path) -> Path:
        path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return path

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


@dataclass
class PKI:
    """The authorities, the server that answers for them, and what it has been asked."""

    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))
    key_size: int = 2048
    requests: dict[str, int] = field(default_factory=lambda: {"tsa": 0, "ocsp": 0})
    revoked: dict[int, dt.datetime] = field(default_factory=dict)  # serial number: when
    clock: dt.datetime | None = None  # the TSA's time; None: the machine's

    def __post_init__(self) -> None:
        self._issued: dict[int, Issued] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.handle_error = lambda request, address: None  # a client gone: not our failure
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.root = self.issue(_name("Throwaway Root CA"), None, ca=True, days=(-400, 7300))
        self.intermediate = self.issue(_name("Throwaway Issuing CA"), self.root, ca=True, days=(-300, 7000))
        # Each authority answers OCSP through a delegated responder (RFC 6960, 4.2.2.2), as real ones
        # do: its certificate says OCSP signing and no-check, so no one asks for its own status.
        self.responders = {authority.certificate.serial_number: self.issue(
            _name(f"{authority.certificate.subject.rfc4514_string()} OCSP Responder"), authority,
            days=(-30, 3650), usage=[ExtendedKeyUsageOID.OCSP_SIGNING], no_check=True)
            for authority in (self.root, self.intermediate)}
        self.tsa = self.issue(_name("Throwaway Time-Stamping Authority"), self.intermediate,
                              days=(-30, 3650), usage=[ExtendedKeyUsageOID.TIME_STAMPING])

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/tsa"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def issue(self, subject: x509.Name, issuer: Issued | None, *, ca: bool = False,
              days: tuple[int, int] = (-30, 365), usage=None, no_check: bool = False) -> Issued:
        key = rsa.generate_private_key(public_exponent=65537, key_size=self.key_size)
        signer_key = issuer.key if issuer else key
        builder = (
            x509.CertificateBuilder().subject_name(subject)
            .issuer_name(issuer.certificate.subject if issuer else subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now + days[0] * DAY).not_valid_after(self.now + days[1] * DAY)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=not ca, content_commitment=not ca and not usage, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
        if no_check:
            builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
        if issuer and not no_check:
            builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer.key.public_key()), critical=False)
            builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(f"{self.url}/ocsp"))]),
                critical=False)
        elif issuer:
            builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer.key.public_key()), critical=False)
        if usage:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=True)
        issued = Issued(builder.sign(signer_key, hashes.SHA256()), key, issuer)
        self._issued[issued.certificate.serial_number] = issued
        return issued

    def signer(self, folder: Path, name: str = "signer", *, days: tuple[int, int] = (-30, 365),
               password: bytes | None = None, key_size: int | None = None) -> Path:
        """A signer's PKCS#12 file (key, certificate, the chain up to the root), mode 600."""
        saved, self.key_size = self.key_size, key_size or self.key_size
        try:
            issued = self.issue(_name("Campaign Signer", "Joint Appeal Campaign"), self.intermediate,
                                days=days)
        finally:
            self.key_size = saved
        path = folder / f"{name}.p12"
        encryption = serialization.BestAvailableEncryption(password) if password else \
            serialization.NoEncryption()
        path.write_bytes(pkcs12.serialize_key_and_certificates(
            name.encode(), issued.key, issued.certificate,
            [self.intermediate.certificate, self.root.certificate], encryption))
        path.chmod(0o600)
        self.last_signer = issued
        return path

    def revoke(self, issued: Issued, when: dt.datetime | None = None) -> None:
        self.revoked[issued.certificate.serial_number] = when or self.now - DAY

    # The services.

    def timestamp(self, request: bytes) -> bytes:
        from asn1crypto import keys as asn1_keys
        from asn1crypto import tsp
        from asn1crypto import x509 as asn1_x509
        from pyhanko.sign.timestamps import DummyTimeStamper

        stamper = DummyTimeStamper(
            tsa_cert=asn1_x509.Certificate.load(self.tsa.der),
            tsa_key=asn1_keys.PrivateKeyInfo.load(self.tsa.key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption())),
            certs_to_embed=[asn1_x509.Certificate.load(self.intermediate.der)],
            fixed_dt=self.clock)
        return stamper.request_tsa_response(tsp.TimeStampReq.load(request)).dump()

    def ocsp(self, request: bytes) -> bytes:
        asked = ocsp.load_der_ocsp_request(request)
        issued = self._issued.get(asked.serial_number)
        if issued is None or issued.issuer is None:
            refused = ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
            return refused.public_bytes(serialization.Encoding.DER)
        now = self.clock or dt.datetime.now(dt.UTC)
        revoked_at = self.revoked.get(asked.serial_number)
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=issued.certificate, issuer=issued.issuer.certificate, algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.REVOKED if revoked_at else ocsp.OCSPCertStatus.GOOD,
            this_update=now, next_update=now + 7 * DAY,
            revocation_time=revoked_at, revocation_reason=x509.ReasonFlags.key_compromise if revoked_at
            else None)
        responder = self.responders[issued.issuer.certificate.serial_number]
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder.certificate).certificates(
            [responder.certificate])
        for extension in asked.extensions:  # the nonce, echoed
            if isinstance(extension.value, x509.OCSPNonce):
                builder = builder.add_extension(extension.value, critical=False)
        return builder.sign(responder.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _handler(pki: PKI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            service = self.path.strip("/")
            if service == "tsa":
                answer, kind = pki.timestamp(body), "application/timestamp-reply"
            elif service == "ocsp":
                answer, kind = pki.ocsp(body), "application/ocsp-response"
            else:
                self.send_error(404)
                return
            pki.requests[service] += 1
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:  # quiet
            pass

    return Handler
