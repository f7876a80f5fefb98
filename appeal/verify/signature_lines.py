"""The lines verify prints of a signature: who, intact, what it covers, its chain and timestamps.

And its PAdES level, and whether the file's own data validate it for the long term.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from appeal.verify.reading import Check


def signature_checks(reports, revision_count: int = 2) -> Iterator[Check]:
    """The lines verify prints for each signature (pdf/signatures.py validates them)."""
    for report in reports:
        who = (f"signed by {report.signer}, certificate SHA-256 {report.fingerprint}, "
               f"signing time {report.signed_at}")
        if report.problem:
            yield Check(False, f"{who}: the signature cannot be validated: {report.problem}")
            continue
        yield Check(report.intact, f"{who}: the signature is intact" if report.intact else
                    f"{who}: the signature is NOT intact: the signed bytes were changed")
        if report.weakness:
            yield Check(False, f"the signer's key is {report.weakness}: anyone with the means could "
                               "have made this signature")
        stamps = report.timestamps or []
        documents = [stamp for stamp in stamps if stamp.kind == "document"]
        if report.whole_file:
            yield Check(True, "the signature covers the whole file: nothing was appended after it")
        elif documents and revision_count > 2:
            newest = documents[-1]
            yield Check(newest.whole_file,
                        "the signature covers the revision it signed; the newest document timestamp covers "
                        "the whole file" if newest.whole_file else
                        "bytes were appended after the newest document timestamp: what they change is "
                        "covered by nothing")
        else:
            yield Check(False, "bytes were appended after signing (an incremental update): what they change "
                               "is not covered by the signature")
        if report.trusted is None:
            yield Check(True, "the signer's certificate chain is not checked (give the certificate you "
                              "trust with --trust CA.pem)", note=True)
        else:
            yield Check(report.trusted, "the signer's certificate chains to a certificate given with --trust"
                        if report.trusted else "the signer's certificate does not chain to any certificate "
                        "given with --trust")
        for stamp in stamps:
            what = "timestamp (RFC 3161)" if stamp.kind == "signature" else "document timestamp (RFC 3161)"
            yield Check(stamp.intact, f"{what}: {_utc(stamp.at)} by {stamp.authority}"
                        + ("" if stamp.intact else " (NOT intact)"))
        yield from long_term_checks(report)


def long_term_checks(report) -> Iterator[Check]:
    """The signature's PAdES level, whether the file's own data suffice to validate it offline, and
    until when its newest timestamp can be checked (re-timestamp before then)."""
    described = {"B-B": "a signature alone", "B-T": "a signature and its timestamp",
                 "B-LT": "a signature, its timestamp and the validation data of their certificates",
                 "B-LTA": "a signature, its timestamp, the validation data of their certificates and "
                          "document timestamps over them"}
    term = report.long_term
    yield Check(True, f"PAdES baseline {report.level}: {described[report.level]}", note=True)
    if term is not None:
        certificates, ocsps, crls = term.counts
        data = f"{certificates} certificates, {ocsps} OCSP responses and {crls} CRLs in the file"
        when = "now" if term.at is None else f"as of {_utc(term.at)}"
        assumed = (f", taking the certificate of the newest timestamp's authority ({term.assumed}) as not "
                   "revoked since it was last extended (only its authority can say)") if term.assumed else ""
        yield Check(term.suffices, (f"valid {when} with only what the file carries ({data}), without the "
                                    f"network, chained to {term.anchors}{assumed}") if term.suffices else
                    f"not valid {when} with only what the file carries ({data}): {term.problem}")
    documents = [stamp for stamp in report.timestamps or [] if stamp.kind == "document"]
    if documents:
        renew = documents[-1].valid_until
        yield Check(True, f"re-timestamp before {renew:%Y-%m-%d} (build.py sign --extend): the newest "
                          f"timestamp's certificate chain is valid until {_utc(renew)}", note=True)


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()
