"""Letters to governments: one pack per recipient, the window envelope, the print file, shards."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from appeal.cli import main
from appeal.inputs.mailing import in_shard
from appeal.paths import DATA_DIR
from helpers import (
    assert_in_order,
    edge_marks,
    page_texts,
    project_copy,
    run_copy,
    snapshot,
    text_lines,
    write_data,
)

MM = 72 / 25.4
INCH = 72.0
CLEARANCE = INCH / 8  # the address lies wholly inside the window, at least 1/8 in clear
RECIPIENTS = yaml.safe_load((DATA_DIR / "recipients.yaml").read_text(encoding="utf-8"))["recipients"]
APPEAL_PAGES = 4


@pytest.fixture(scope="module")
def letters(built):
    return built


def address_lines(pdf, recipient) -> list:
    """The drawn lines of the recipient's address block on the cover letter, name first."""
    expected = [recipient["name"], *recipient["address"]]
    lines = text_lines(pdf)
    found = [next(line for line in lines if line.text == text) for text in expected]
    return found


def test_every_recipient_gets_a_cover_letter_then_the_appeal(letters, appeal_data):
    for recipient in RECIPIENTS:
        pack = letters / "letters" / f"{recipient['id']}.pdf"
        texts = page_texts(pack)
        assert len(texts) == 1 + APPEAL_PAGES
        # The address and salutation are drawn first, then the layer the letters share.
        assert_in_order(texts[0], [recipient["name"], *recipient["address"], f"{recipient['salutation']},",
                                   "16 June 2025", "Joint Appeal to Uphold the Mine Ban Treaty",
                                   "On 16 June 2025", "Yours sincerely,", "Enclosure: Joint Appeal"])
        assert_in_order("\n".join(texts[1:]), [appeal_data["title"], *appeal_data["body"][:2]])
        assert "Signatories (continued)" in texts[-1] and "21. Jody Williams" in texts[-1]
        info = PdfReader(pack).metadata
        assert info["/CreationDate"] == "D:20250616000000Z"
        assert info["/Subject"] == f"To {recipient['name']}"


def test_print_file_starts_every_pack_on_an_odd_page(letters):
    reader = PdfReader(letters / "letters.pdf")
    per_pack = 1 + APPEAL_PAGES + (1 + APPEAL_PAGES) % 2
    assert len(reader.pages) == per_pack * len(RECIPIENTS)
    texts = page_texts(reader)
    for number, recipient in enumerate(RECIPIENTS):
        first = number * per_pack  # 0-based: page 1, 7, 13, ... counting from 1
        assert recipient["address"][-1] in texts[first]
        if per_pack > 1 + APPEAL_PAGES:
            assert texts[first + per_pack - 1].strip() == ""  # the padding page is blank


def test_din_5008_form_b_address_field_and_marks(letters):
    pdf = letters / "letters" / f"{RECIPIENTS[0]['id']}.pdf"
    page = PdfReader(pdf).pages[0]
    size = (float(page.mediabox.width), float(page.mediabox.height))
    assert size == pytest.approx((595.28, 841.89), abs=0.01)
    # The window of a DIN envelope: the address field, 20 mm from the left, 45 mm from the top, 85 × 45 mm.
    left, top, right, bottom = 20 * MM, 45 * MM, 105 * MM, 90 * MM
    for line in address_lines(pdf, RECIPIENTS[0]):
        assert line.left >= left + CLEARANCE and line.right <= right - CLEARANCE, line
        assert line.top >= top + CLEARANCE and line.bottom <= bottom - CLEARANCE, line
    lines = text_lines(pdf)
    sender = yaml.safe_load((DATA_DIR / "letter.yaml").read_text(encoding="utf-8"))["sender"]
    back = next(line for line in lines if line.text == sender["return_address"])
    # The return address in the field's top part (the 17.7 mm remarks zone), above the address.
    assert top <= back.top and back.bottom <= top + 17.7 * MM
    assert back.right <= right and back.left >= left
    assert back.bottom <= address_lines(pdf, RECIPIENTS[0])[0].top + 1
    assert edge_marks(pdf) == [(105.0, 6.0), (210.0, 6.0), (148.5, 9.0)]


def _on_letter_paper(tmp_path):
    recipients = [dict(r, paper="letter") for r in RECIPIENTS[:2]]
    return write_data(tmp_path, {"recipients": recipients}, "recipients.yaml"), recipients


def test_us_letter_fits_a_number_10_window_envelope(tmp_path):
    path, recipients = _on_letter_paper(tmp_path)
    assert main(["letters", "--recipients", str(path), "--out", str(tmp_path / "out")]) == 0
    pdf = tmp_path / "out" / "letters" / f"{recipients[0]['id']}.pdf"
    reader = PdfReader(pdf)
    assert all((float(p.mediabox.width), float(p.mediabox.height)) == (612, 792) for p in reader.pages)
    # #10 window: 4 1/2 × 1 1/8 in, 7/8 in from the left; 2 1/2 in below the top of a letter
    # folded in three (1/2 in from the bottom of the 4 1/8 in envelope).
    left, top, right, bottom = 0.875 * INCH, 2.5 * INCH, 5.375 * INCH, 3.625 * INCH
    for line in address_lines(pdf, recipients[0]):
        assert line.left >= left + CLEARANCE - 0.01 and line.right <= right - CLEARANCE, line
        assert line.top >= top + CLEARANCE and line.bottom <= bottom - CLEARANCE, line
    # The address block on the letter's left edge, where the salutation and the body begin.
    salutation = next(line for line in text_lines(pdf) if line.text == f"{recipients[0]['salutation']},")
    assert all(abs(line.left - salutation.left) < 0.3 for line in address_lines(pdf, recipients[0]))
    assert edge_marks(pdf) == [(93.1, 6.0), (186.3, 6.0), (139.7, 9.0)]  # 11/3 and 22/3 in; 5.5 in


def test_markup_and_template_syntax_in_a_recipient_print_literally(tmp_path):
    tricky = dict(RECIPIENTS[0], name="<b>Minister</b> & {{ 7 * 7 }}", salutation="Dear {{ recipient.id }}")
    path = write_data(tmp_path, {"recipients": [tricky]}, "recipients.yaml")
    assert main(["letters", "--recipients", str(path), "--out", str(tmp_path / "out")]) == 0
    text = page_texts(tmp_path / "out" / "letters" / f"{tricky['id']}.pdf")[0]
    assert "<b>Minister</b> & {{ 7 * 7 }}" in text
    assert "Dear {{ recipient.id }}," in text


def test_shards_split_the_recipients_without_overlap(tmp_path, capsys):
    path = write_data(tmp_path, {"recipients": [dict(RECIPIENTS[0], id=f"member-{n:03d}")
                                                for n in range(12)]}, "recipients.yaml")
    seen = []
    for number in (1, 2, 3):
        out = tmp_path / f"shard{number}"
        assert main(["letters", "--recipients", str(path), "--shard", f"{number}/3", "--out", str(out)]) == 0
        ids = sorted(p.stem for p in (out / "letters").glob("*.pdf"))
        assert ids == sorted(f"member-{n:03d}" for n in range(12) if in_shard(f"member-{n:03d}", number, 3))
        if ids:
            assert (out / f"letters-shard-{number}-of-3.pdf").is_file()
        seen += ids
    assert sorted(seen) == [f"member-{n:03d}" for n in range(12)]


def test_default_build_includes_the_letters_and_their_checksums(letters):
    sums = (letters / "SHA256SUMS").read_text()
    assert "  letters.pdf\n" in sums
    for recipient in RECIPIENTS:
        assert f"  letters/{recipient['id']}.pdf\n" in sums


def test_a_build_reads_no_pack_back_and_its_checksums_hold(tmp_path, monkeypatch):
    """Each pack is hashed once, from its bytes in the worker that wrote it: the build reads no pack
    (nor a part of the print file) back, and SHA256SUMS still names each file's digest."""
    import hashlib
    import pathlib

    many = [{**RECIPIENTS[0], "id": f"member-{n:02d}"} for n in range(6)]
    recipients = write_data(tmp_path, {"recipients": many}, "recipients.yaml")
    read, real = [], pathlib.Path.read_bytes
    monkeypatch.setattr(pathlib.Path, "read_bytes", lambda path: (read.append(path), real(path))[1])
    out = tmp_path / "out"
    assert main(["letters", "--recipients", str(recipients), "--out", str(out)]) == 0
    # The print file is hashed once, by SHA256SUMS (it is merged by streaming, never held whole).
    assert [path.name for path in read if path.suffix == ".pdf"] == ["letters.pdf"], read
    sums = dict(reversed(line.split("  ")) for line in (out / "SHA256SUMS").read_text().splitlines())
    assert sorted(sums) == ["letters.pdf", *(f"letters/member-{n:02d}.pdf" for n in range(6))]
    for name, digest in sums.items():
        assert hashlib.sha256(real(out / name)).hexdigest() == digest, name


# Bad letter data: every record is checked before anything is written.

def _bad(tmp_path, earlier_build, capsys, recipients=None, letter=None) -> str:
    before = snapshot(earlier_build)
    args = ["letters", "--out", str(earlier_build)]
    if recipients is not None:
        args += ["--recipients", str(write_data(tmp_path, {"recipients": recipients}, "recipients.yaml"))]
    if letter is not None:
        args += ["--letter", str(write_data(tmp_path, letter, "letter.yaml"))]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert snapshot(earlier_build) == before
    return err


LETTER = yaml.safe_load((DATA_DIR / "letter.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("recipients", "expected"), [
    ([RECIPIENTS[0], RECIPIENTS[1], dict(RECIPIENTS[2], id=RECIPIENTS[0]["id"])],
     ["recipients[2].id: the id 'estonia-foreign-minister' is listed twice"]),
    ([RECIPIENTS[0], {k: v for k, v in RECIPIENTS[1].items() if k != "address"}],
     ["recipients[1].address: is required"]),
    ([dict(RECIPIENTS[0], address=["a", "b", "c", "d", "e"])],
     ["recipients[0].address: has 5 lines; at most 4 fit"]),
    ([dict(RECIPIENTS[0], position="Minister", address=["a", "b", "c", "d"])],
     ["recipients[0].address: has 4 lines; at most 3 fit the envelope window below the name and the "
      "position"]),
    ([dict(RECIPIENTS[0], position="Minister for Foreign Affairs and for Overseas Development Aid",
           address=RECIPIENTS[0]["address"][:3])],
     ["recipients[0].position: is too long for the envelope window"]),
    ([dict(RECIPIENTS[0], address=["Ministry of Foreign Affairs of the Republic of Estonia"])],
     ["recipients[0].address[0]: is too long for the envelope window"]),
    ([dict(RECIPIENTS[0], paper="legal")], ["recipients[0].paper"]),
    ([dict(RECIPIENTS[0], id="../../etc/passwd")], ["recipients[0].id: must be usable as a file name"]),
    ([dict(RECIPIENTS[0], language="fr")], ["recipients[0].language: the letter", "no translation for 'fr'"]),
    ([dict(RECIPIENTS[0], name="Ministr क")], ["recipients[0].name", "U+0915"]),
    ([], ["recipients: must not be empty"]),
])
def test_bad_recipients(tmp_path, earlier_build, capsys, recipients, expected):
    err = _bad(tmp_path, earlier_build, capsys, recipients=recipients)
    for words in expected:
        assert words in err


def test_a_recipient_refused_at_layout_is_named_with_its_line(tmp_path, earlier_build, capsys):
    # The recipients' lines are let go once every record is checked (Source.compact) and found
    # again for a message that needs one: it names the line of the very address that is too long.
    long = "Ministry of Foreign Affairs of the Republic of Estonia"
    err = _bad(tmp_path, earlier_build, capsys, recipients=[RECIPIENTS[0], RECIPIENTS[1],
                                                            dict(RECIPIENTS[2], address=[long])])
    written = (tmp_path / "recipients.yaml").read_text(encoding="utf-8").splitlines()
    line = next(number for number, text in enumerate(written, 1) if long in text)
    assert f"recipients.yaml:{line}: recipients[2].address[0]: is too long for the envelope window" in err


@pytest.mark.parametrize(("letter", "expected"), [
    (dict(LETTER, body="{{ recipient.nickname }}"), ["letter.yaml", "body: cannot be filled in",
                                                     "recipients[0]", "nickname"]),
    (dict(LETTER, body="{% if %}"), ["body: line 1 of the template"]),
    (dict(LETTER, body="\n\n".join([LETTER["body"]] * 4)),
     ["recipients[0]: the cover letter runs over one page"]),
    ({k: v for k, v in LETTER.items() if k != "signer"}, ["signer: is required"]),
    (dict(LETTER, date="next week"), ["date: must be an ISO 8601 date"]),
    (dict(LETTER, sender=dict(LETTER["sender"], return_address="Joint Appeal · " + "A long street " * 5)),
     ["sender.return_address: is too long for the envelope window"]),
])
def test_bad_letter(tmp_path, earlier_build, capsys, letter, expected):
    err = _bad(tmp_path, earlier_build, capsys, letter=letter)
    for words in expected:
        assert words in err


def test_bad_shard(earlier_build, capsys):
    assert main(["letters", "--shard", "4/3", "--out", str(earlier_build)]) == 2
    assert "--shard: expected I/N" in capsys.readouterr().err


# Speed without a visible difference: letters that share their text share one stationery layer.

def _lines_of(pdf, page_number=0):
    return sorted((line.text, round(line.left, 2), round(line.top, 2), round(line.right, 2))
                  for line in text_lines(pdf, page_number))


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_layered_letters_draw_every_line_where_a_whole_letter_does(tmp_path, paper):
    from appeal.inputs.load import load_data
    from appeal.inputs.mailing import load_mailing
    from appeal.layout.render import Renderer
    from appeal.products.stationery import render_chunk, render_stationery

    long_salutation = "Dear Minister, with our respectful greetings and our thanks for your attention to this"
    recipients = [RECIPIENTS[0], dict(RECIPIENTS[1], salutation=long_salutation * 2), RECIPIENTS[2]]
    recipients = [dict(recipient, paper=paper) for recipient in recipients]
    path = write_data(tmp_path, {"recipients": recipients}, "recipients.yaml")
    data = load_data(DATA_DIR / "appeal.yaml", DATA_DIR / "words.yaml")
    mailing = load_mailing(DATA_DIR / "words.yaml", DATA_DIR / "letter.yaml", path)
    renderer = Renderer()
    layer = render_stationery(renderer, data, mailing, mailing.packs[0])
    layered = render_chunk(renderer, data, mailing, mailing.packs, layer)
    (tmp_path / "layered.pdf").write_bytes(layered.pdf)
    for number, pack in enumerate(mailing.packs):
        (tmp_path / f"whole{number}.pdf").write_bytes(render_chunk(renderer, data, mailing, [pack]).pdf)
        assert _lines_of(tmp_path / "layered.pdf", number) == _lines_of(tmp_path / f"whole{number}.pdf")
    # The long salutation wraps, so that letter was laid out whole rather than layered: only the
    # layered pages draw the stationery, its content a stream after the page's own.
    pages = PdfReader(tmp_path / "layered.pdf").pages
    streams = [page["/Contents"].get_object() for page in pages]
    assert [len(stream) if isinstance(stream, list) else 1 for stream in streams] == [2, 1, 2]



def test_a_signature_image_kept_in_the_project_is_drawn(tmp_path):
    from PIL import Image

    copy = project_copy(tmp_path)  # the image goes among the styles of a copy of the tool
    image = copy / "styles" / "signatures" / "signature.png"
    image.parent.mkdir(exist_ok=True)
    Image.new("L", (240, 60), 255).save(image)
    signed = dict(LETTER, signer=dict(LETTER["signer"], signature=str(image.relative_to(copy))))
    letter = write_data(tmp_path, signed, "letter.yaml")
    recipients = write_data(tmp_path, {"recipients": RECIPIENTS[:1]}, "recipients.yaml")
    result = run_copy(copy, ["letters", "--letter", str(letter), "--recipients", str(recipients),
                             "--out", str(tmp_path / "out")])
    assert result.returncode == 0, result.stderr
    page = PdfReader(tmp_path / "out" / "letters" / f"{RECIPIENTS[0]['id']}.pdf").pages[0]
    assert len(page.images) == 1


def test_a_signature_image_outside_styles_is_refused(tmp_path, earlier_build, capsys):
    signed = dict(LETTER, signer=dict(LETTER["signer"], signature="data/appeal.yaml"))
    err = _bad(tmp_path, earlier_build, capsys, letter=signed)
    assert "signer.signature: must name an image file under styles/" in err


def test_the_words_file_is_read_once_for_every_language(tmp_path, monkeypatch, capsys):
    """A build whose appeal is in English and whose letters are in English and French reads
    words.yaml once, not once for each language it looks up."""
    from appeal.inputs import models

    words = yaml.safe_load((DATA_DIR / "words.yaml").read_text(encoding="utf-8"))
    words["fr"] = words["en"]
    words_path = write_data(tmp_path, words, "words.yaml")
    letter = yaml.safe_load((DATA_DIR / "letter.yaml").read_text(encoding="utf-8"))
    letter["translations"] = {"fr": {"subject": "Appel conjoint", "closing": "Veuillez agréer",
                                     "body": "{{ recipient.salutation }},\n\nTexte.",
                                     "enclosure": "Pièce jointe : l’appel"}}
    recipients = {"recipients": [dict(RECIPIENTS[0]), dict(RECIPIENTS[1], language="fr")]}
    real, read = models.read_yaml, []
    monkeypatch.setattr(models, "read_yaml", lambda path, *a: (read.append(path), real(path, *a))[1])
    letter_path = write_data(tmp_path, letter, "letter.yaml")
    assert main(["check", "--words", str(words_path), "--letter", str(letter_path),
                 "--recipients", str(write_data(tmp_path, recipients, "recipients.yaml"))]) == 0
    assert "2 language(s)" in capsys.readouterr().out
    assert read.count(words_path) == 1, read


def test_us_letters_date_the_us_way_and_give_the_position_its_own_line(tmp_path):
    """An en-US letter is dated "June 16, 2025" (the words' en-US section), though its text is
    en's; an en-GB one "16 June 2025". A position stands on its own line under the name, the
    honorific (title) before the name on the name's line."""
    american = {"id": "us-secretary", "title": "The Honorable", "name": "Example Person",
                "position": "Secretary of State", "address": ["2201 C Street NW", "Washington, DC 20520"],
                "salutation": "Dear Secretary", "language": "en-US", "paper": "letter"}
    british = dict(RECIPIENTS[0], id="uk-minister", language="en-GB")
    path = write_data(tmp_path, {"recipients": [american, british]}, "recipients.yaml")
    out = tmp_path / "out"
    assert main(["letters", "--recipients", str(path), "--out", str(out)]) == 0
    us = [line.text for line in text_lines(out / "letters" / "us-secretary.pdf")]
    uk = [line.text for line in text_lines(out / "letters" / "uk-minister.pdf")]
    assert "June 16, 2025" in us and "16 June 2025" not in us
    assert "16 June 2025" in uk and "June 16, 2025" not in uk
    start = us.index("The Honorable Example Person")
    assert us[start:start + 4] == ["The Honorable Example Person", "Secretary of State", "2201 C Street NW",
                                   "Washington, DC 20520"]


def test_a_regional_words_section_changes_only_what_it_gives(tmp_path):
    """en-US takes en's words but its date format; a key a region misspells is named at its
    place; without an en-US section, en-US is served by en."""
    import datetime as dt

    from appeal.errors import UserError
    from appeal.inputs.models import read_words, words_for

    day = dt.date(2025, 6, 16)
    words = read_words(DATA_DIR / "words.yaml")
    us, en = words_for(words, "en-US", words), words_for(words, "en", words)
    assert us.date(day) == "June 16, 2025" and en.date(day) == "16 June 2025"
    assert us.model_dump(exclude={"date_format"}) == en.model_dump(exclude={"date_format"})
    shipped = yaml.safe_load((DATA_DIR / "words.yaml").read_text(encoding="utf-8"))
    misspelt = write_data(tmp_path, {**shipped, "en-US": {"date_formt": "{month} {day}, {year}"}},
                          "words.yaml")
    with pytest.raises(UserError, match=r"words.yaml:\d+: en-US.date_formt: is not a known key"):
        words_for(read_words(misspelt), "en-US", words)
    plain = write_data(tmp_path, {"en": shipped["en"]}, "plain.yaml")
    assert words_for(read_words(plain), "en-US", words).date(day) == "16 June 2025"


_KEPT = """
import gc, sys
from appeal.build.pipeline import load
from appeal.build.plan import settle
from appeal.cli import request_from
from appeal.cli.parser import _parser

def plan(path):
    return settle(request_from(_parser().parse_args(["letters", "--recipients", path])))

def resident():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS"))

load(plan(sys.argv[1]))  # what any build keeps once: modules, the fonts' character sets
gc.collect()
before = resident()
loaded = load(plan(sys.argv[2]))
gc.collect()
print(len(loaded.mailing.packs), loaded.mailing.packs[-1].recipient.address[1], resident() - before, sep="\t")
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the resident size from /proc")
def test_a_parliaments_recipients_leave_about_a_kilobyte_each_in_the_build(tmp_path):
    # The recipients are read in a child process (workers.in_child): the half-empty memory their
    # parse leaves stays there; what comes back shares its equal texts and each recipient's set
    # of keys. Before, 10,000 recipients grew the build by 8 kB each (resident, measured), and
    # every letters worker inherited it. Measured in a fresh process, whose heap has no room
    # left free by earlier tests.
    import subprocess
    import sys

    count = 4_000
    recipients = [{"id": f"member-{n:05d}", "title": "Hon.", "name": f"Member of Parliament {n:05d}",
                   "address": ["Parliament of the Republic", f"Office {n % 400 + 1}", "Parliament Square 1",
                               "CAPITAL CITY"], "salutation": "Dear Member of Parliament"}
                  for n in range(count)]
    few = write_data(tmp_path, {"recipients": recipients[:3]}, "few.yaml")
    many = write_data(tmp_path, {"recipients": recipients}, "recipients.yaml")
    run = subprocess.run([sys.executable, "-c", _KEPT, str(few), str(many)], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent)
    packs, office, grown = run.stdout.splitlines()[-1].split("\t")
    assert (int(packs), office) == (count, "Office 400")
    assert int(grown) / count < 2_500, f"{int(grown) / count:.0f} bytes a recipient"


def test_a_recipients_problem_found_while_reading_names_its_line(tmp_path, earlier_build, capsys):
    # The recipients are read without keeping the line of every key (source.parse_yaml's
    # keep_lines); a problem found while reading them still names its line, read again.
    text = (DATA_DIR / "recipients.yaml").read_text(encoding="utf-8")
    second = "  - id: finland-foreign-minister\n"
    assert second in text
    doubled = text.replace(second, "  - id: twice\n    id: finland-foreign-minister\n")
    path = tmp_path / "recipients.yaml"
    path.write_text(doubled, encoding="utf-8")
    before = snapshot(earlier_build)
    assert main(["letters", "--recipients", str(path), "--out", str(earlier_build)]) == 2
    err = capsys.readouterr().err
    line = doubled.splitlines().index("    id: finland-foreign-minister") + 1
    assert f"{path}:{line}: recipients[1].id: is given twice" in err, err
    assert snapshot(earlier_build) == before
