"""The publication check on a real registry (both backends) and from its sketch: found
with the right span, normalised and renamed copies found, unrelated outputs clear,
verdicts from the terms and grants, and a sketch that gives the same answers while
holding none of the registered text."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from consentry.check import (
    Checker,
    RegistryNotices,
    SketchNotices,
    Verdict,
    notice_records,
    notices_for,
)
from consentry.crypto import KeyPair
from consentry.errors import InputError, VerificationError
from consentry.fingerprint import fingerprint_bytes, normalize_text
from consentry.index import MatchIndex, MatchKind, Sketch
from consentry.log import NoteVerifier
from consentry.registry import FileFingerprint, Registry, Scope, ScopeKind
from consentry.terms import Category, Terms
from tests.conftest import LICENSES, STDLIB, Actor

ORIGIN = "consentry.test/log"
TEXTS = ["GPL-3", "Apache-2.0", "MPL-2.0", "Artistic"]
CODE = ["json/decoder.py", "textwrap.py", "shlex.py"]
UNRELATED = " ".join((LICENSES / "BSD").read_text().split() * 3)


def _texts() -> dict[str, str]:
    found = {n: (LICENSES / n).read_text() for n in TEXTS if (LICENSES / n).is_file()}
    found.update({n: (STDLIB / n).read_text() for n in CODE})
    return found


@dataclass
class World:
    owner: Actor
    texts: dict[str, str]
    works: dict[str, str]
    index: MatchIndex
    sketch: Sketch
    sketch_bytes: bytes
    log_key: KeyPair


@pytest.fixture
def world(registry: Registry, make_owner) -> World:  # type: ignore[no-untyped-def]
    owner: Actor = make_owner("Ada Lovelace")
    texts = _texts()
    files = [FileFingerprint(n, fingerprint_bytes(n, t.encode())) for n, t in texts.items()]
    works = {r.path: r.work.id for r in registry.works.register(owner.id, owner.key, files)}
    index = MatchIndex()
    registry.works.refresh_index(index)
    log_key = KeyPair.generate()
    signed = registry.log.checkpoint(log_key, ORIGIN)
    sketch_bytes = Sketch.build(
        list(registry.works.index_records()),
        notice_records(notices_for(registry)),
        checkpoint=signed.note,
    ).to_bytes(log_key, ORIGIN)
    sketch = Sketch.from_bytes(sketch_bytes, NoteVerifier(ORIGIN, log_key.public))
    return World(owner, texts, works, index, sketch, sketch_bytes, log_key)


def _checkers(registry: Registry, world: World, **options: int) -> list[Checker]:
    return [
        Checker(world.index, RegistryNotices(registry), **options),
        Checker(world.sketch, SketchNotices(world.sketch), **options),
    ]


@pytest.mark.parametrize("length", [200, 300, 1000])
def test_an_excerpt_inside_unrelated_text_is_found_where_it_is(
    registry: Registry, world, length: int
) -> None:  # type: ignore[no-untyped-def]
    texts, works = world.texts, world.works
    rng = random.Random(length)
    for name in ["GPL-3", "MPL-2.0"]:
        text = texts[name]
        start = rng.randrange(0, len(text) - length)
        excerpt = text[start : start + length]
        cut = rng.randrange(len(UNRELATED))
        output = UNRELATED[:cut] + " " + excerpt + " " + UNRELATED[cut:]
        where = (cut + 1, cut + 1 + length)
        for checker in _checkers(registry, world):
            report = checker.check_text(output)
            (finding,) = [f for f in report.findings if f.work_id == works[name]]
            assert finding.kind is MatchKind.EXCERPT
            assert finding.verdict is Verdict.BLOCKED and not report.publishable
            for span_start, span_end in finding.spans:
                assert where[0] <= span_start < span_end <= where[1]
                assert normalize_text(output[span_start:span_end]) in normalize_text(text)
            assert finding.length >= 100


def test_normalised_copies_and_renamed_code_are_found(registry: Registry, world: World) -> None:  # type: ignore[no-untyped-def]
    texts, works = world.texts, world.works
    excerpt = texts["Apache-2.0"][2000:2600]
    disguised = "\u200b".join(excerpt.upper().replace(" ", "  \n").split("e"))
    disguised = disguised.replace("A", "\uff21")  # fullwidth
    code = texts["json/decoder.py"]
    renamed = code
    for number, identifier in enumerate(
        sorted(
            set(re.findall(r"\b[a-z_][a-z_0-9]{3,}\b", code))
            - {
                "self",
                "return",
                "import",
                "from",
                "class",
                "while",
                "raise",
                "except",
                "elif",
                "else",
                "pass",
                "break",
                "continue",
                "lambda",
                "yield",
                "None",
                "True",
                "False",
                "with",
                "assert",
                "global",
                "nonlocal",
                "finally",
                "print",
                "range",
                "isinstance",
                "str",
                "int",
                "len",
                "dict",
                "list",
                "float",
                "super",
                "type",
                "object",
            }
        )
    ):
        renamed = re.sub(rf"\b{identifier}\b", f"v{number}", renamed)
    for checker in _checkers(registry, world):
        found = checker.check_text("Notes. " + disguised + " More notes.")
        assert works["Apache-2.0"] in {f.work_id for f in found.findings}
        report = checker.check_code(renamed, name="mine.py")
        assert works["json/decoder.py"] in {f.work_id for f in report.findings}
        (finding,) = [f for f in report.findings if f.work_id == works["json/decoder.py"]]
        assert all(0 <= s < e <= len(renamed) for s, e in finding.spans)
        # A script known only by its shebang is read as code too, its spans in the
        # script's own coordinates: the same spans, moved by the shebang line.
        shebang = "#!/usr/bin/env python3\n"
        script = checker.check_text(shebang + renamed, name="mine").findings
        (same,) = [f for f in script if f.work_id == works["json/decoder.py"]]
        assert same.spans == tuple((s + len(shebang), e + len(shebang)) for s, e in finding.spans)


def test_unrelated_text_and_code_from_elsewhere_are_clear(registry: Registry, world: World) -> None:  # type: ignore[no-untyped-def]
    others = [p for p in sorted(STDLIB.glob("*.py")) if p.name not in {"textwrap.py", "shlex.py"}][
        :25
    ]
    licences = [
        p
        for p in sorted(LICENSES.iterdir())
        if p.is_file()
        and p.name not in TEXTS
        and not p.name.startswith(("GPL", "LGPL", "GFDL", "Apache", "MPL", "Artistic"))
    ]
    for checker in _checkers(registry, world):
        for path in [*others, *licences]:
            report = checker.check_bytes(path.read_bytes(), name=path.name)
            assert report.findings == (), (path, report.findings)
            assert report.verdict is Verdict.CLEAR


def test_verdicts_follow_the_owners_terms_and_the_users_grants(
    registry: Registry, world, make_licensee
) -> None:  # type: ignore[no-untyped-def]
    owner, texts, works, index = world.owner, world.texts, world.works, world.index
    output = UNRELATED[:300] + texts["GPL-3"][4000:4800] + UNRELATED[300:600]
    terms = {
        "version": 1,
        "categories": {"publish-output": "allow"},
        "conditions": {"attribution": "GPL-3 text © Ada Lovelace"},
    }
    registry.terms.set(owner.id, owner.id, owner.key, Terms.from_json(terms))
    report = Checker(index, RegistryNotices(registry)).check_text(output)
    (finding,) = report.findings
    assert finding.verdict is Verdict.ATTRIBUTE and report.publishable
    assert report.attributions() == ["GPL-3 text © Ada Lovelace"]
    capped = {**terms, "conditions": {"max_excerpt_chars": 200}}
    registry.terms.set(works["GPL-3"], owner.id, owner.key, Terms.from_json(capped))
    (finding,) = Checker(index, RegistryNotices(registry)).check_text(output).findings
    assert finding.verdict is Verdict.BLOCKED and "at most 200" in finding.reason
    lab = make_licensee("Press")
    request = registry.licensing.request(
        lab.id,
        lab.key,
        scope=Scope(ScopeKind.WORKS, (works["GPL-3"],)),
        purposes=[Category.PUBLISH_OUTPUT],
    )
    grant = registry.licensing.grant(request.id, owner.id, owner.key)
    notices = RegistryNotices(registry, licensee=lab.actor)
    (finding,) = Checker(index, notices).check_text(output).findings
    assert (finding.verdict, finding.grant_id) == (Verdict.LICENSED, grant.id)


def _grams(data: bytes) -> set[bytes]:
    return {data[i : i + 8] for i in range(len(data) - 7)}


def test_the_sketch_holds_no_registered_text_and_needs_the_whole_excerpt(
    registry: Registry, world
) -> None:  # type: ignore[no-untyped-def]
    texts, sketch, sketch_bytes = world.texts, world.sketch, world.sketch_bytes
    arrays = b"".join(array.tobytes() for array in sketch.arrays.values())
    notices = json.dumps(sketch.work_notices).encode()
    # What the format itself says (field names, the terms the owner wrote, ids) may
    # share words with a licence text; the works' content may not appear anywhere.
    structure = json.dumps(sketch.header).encode() + notices
    assert {key for n in sketch.work_notices for key in n} == {
        "work_id",
        "owner_id",
        "owner_name",
        "terms",
    }
    # A run of 8 bytes occurs in a byte string exactly when it is one of its 8-byte
    # windows: comparing sets of windows is the substring search done once.
    in_arrays, in_sketch, in_structure = _grams(arrays), _grams(sketch_bytes), _grams(structure)
    for text in texts.values():
        for form in (text, normalize_text(text)):
            grams = _grams(form.encode())
            assert not grams & in_arrays
            assert not (grams & in_sketch) - in_structure
    piece = texts["GPL-3"][10000:10099]
    output = UNRELATED[:400] + piece + UNRELATED[400:800]
    assert Checker(sketch, SketchNotices(sketch)).check_text(output).findings == ()


def test_a_changed_truncated_or_foreign_sketch_is_refused(world: World) -> None:  # type: ignore[no-untyped-def]
    sketch_bytes, log_key = world.sketch_bytes, world.log_key
    log = NoteVerifier(ORIGIN, log_key.public)
    changed = bytearray(sketch_bytes)
    changed[-10] ^= 1
    with pytest.raises(VerificationError, match="changed or truncated"):
        Sketch.from_bytes(bytes(changed), log)
    with pytest.raises(VerificationError, match="changed or truncated"):
        Sketch.from_bytes(sketch_bytes[:-100], log)
    with pytest.raises(VerificationError, match="not signed by the registry"):
        Sketch.from_bytes(sketch_bytes, NoteVerifier(ORIGIN, KeyPair.generate().public))
    with pytest.raises(InputError, match="not a consentry sketch"):
        Sketch.from_bytes(b"PK\x03\x04 a zip file", log)
    with pytest.raises(VerificationError):
        Sketch.from_bytes(sketch_bytes[:40], log)


def test_binary_input_is_refused_not_called_clear(world: World) -> None:  # type: ignore[no-untyped-def]
    sketch = world.sketch
    checker = Checker(sketch, SketchNotices(sketch))
    with pytest.raises(InputError, match="binary"):
        checker.check_bytes(bytes(range(256)) * 4, name="blob.bin")
    with pytest.raises(InputError, match="not UTF-8"):
        checker.check_bytes("caf\u00e9".encode("latin-1") * 50, name="notes.txt")
    with pytest.raises(InputError):
        checker.check_bytes(b"\x89PNG\r\n\x1a\n broken", name="image.png")
    with pytest.raises(InputError, match="unpaired surrogate at character 5"):
        checker.check_text("caf\u00e9 \ud800 and more text", name="notes.txt")


def test_images_are_found_mirrored_and_resized_from_the_registry_and_the_sketch(
    registry: Registry, make_owner
) -> None:  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    from tests.unit.fingerprint.test_image import _picture

    def png(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()

    owner: Actor = make_owner("Painter")
    art = png(_picture(5))
    (result,) = registry.works.register(
        owner.id, owner.key, [FileFingerprint("art.png", fingerprint_bytes("art.png", art))]
    )
    index = MatchIndex()
    registry.works.refresh_index(index)
    log_key = KeyPair.generate()
    signed = registry.log.checkpoint(log_key, ORIGIN)
    sketch = Sketch.from_bytes(
        Sketch.build(
            list(registry.works.index_records()),
            notice_records(notices_for(registry)),
            checkpoint=signed.note,
        ).to_bytes(log_key, ORIGIN),
        NoteVerifier(ORIGIN, log_key.public),
    )
    mirrored = png(_picture(5).transpose(Image.Transpose.FLIP_LEFT_RIGHT).resize((200, 150)))
    for checker in (
        Checker(index, RegistryNotices(registry)),
        Checker(sketch, SketchNotices(sketch)),
    ):
        (finding,) = checker.check_bytes(mirrored, name="generated.png").findings
        assert (finding.work_id, finding.kind, finding.verdict) == (
            result.work.id,
            MatchKind.IMAGE,
            Verdict.BLOCKED,
        )
        (same,) = checker.check_image(art, name="copy.png").findings
        assert same.kind is MatchKind.EXACT
        assert checker.check_image(png(_picture(11)), name="other.png").findings == ()


def test_the_python_api_checks_offline_from_a_sketch_file(world: World, tmp_path: Path) -> None:
    path = tmp_path / "registry.sketch"
    path.write_bytes(world.sketch_bytes)
    vkey = NoteVerifier(ORIGIN, world.log_key.public).vkey()
    checker = Checker.offline(path, vkey, min_span=300)
    excerpt = world.texts["MPL-2.0"][7000:7600]
    report = checker.check_text("Preface. " * 40 + excerpt + " Afterword. " * 40)
    assert [f.work_id for f in report.findings] == [world.works["MPL-2.0"]]
    with pytest.raises(InputError, match="cannot read sketch"):
        Checker.offline(tmp_path / "missing.sketch", vkey)


def test_an_update_adds_only_what_changed_and_applies_once(
    registry: Registry, world: World
) -> None:
    from consentry.check.export import export_update

    log = NoteVerifier(ORIGIN, world.log_key.public)
    owner = world.owner
    late = (LICENSES / "LGPL-3").read_text() if (LICENSES / "LGPL-3").is_file() else ""
    late = late or (STDLIB / "difflib.py").read_text()
    (added,) = registry.works.register(
        owner.id,
        owner.key,
        [FileFingerprint("late.txt", fingerprint_bytes("late.txt", late.encode()))],
    )
    quote = {"version": 1, "categories": {"publish-output": "allow"}}
    registry.terms.set(world.works["GPL-3"], owner.id, owner.key, Terms.from_json(quote))
    update = export_update(registry, world.sketch, world.log_key, ORIGIN)
    assert (update.new_works, update.changed_notices) == (1, 1)
    assert len(update.data) < len(world.sketch_bytes) / 2
    combined = Sketch.apply(world.sketch_bytes, update.data, log)
    updated = Sketch.from_bytes(combined, log)
    checker = Checker(updated, SketchNotices(updated))
    output = UNRELATED[:500] + late[1000:1600] + UNRELATED[500:900]
    assert [f.work_id for f in checker.check_text(output).findings] == [added.work.id]
    (finding,) = checker.check_text(UNRELATED[:300] + world.texts["GPL-3"][5000:5600]).findings
    assert finding.verdict is Verdict.CLEAR
    old = Checker(world.sketch, SketchNotices(world.sketch))
    assert old.check_text(output).findings == ()
    # The same update twice, or on another sketch, does not follow: refused.
    with pytest.raises(VerificationError, match="does not follow this sketch"):
        Sketch.apply(combined, update.data, log)
    with pytest.raises(InputError, match="not a consentry sketch update"):
        Sketch.apply(world.sketch_bytes, world.sketch_bytes, log)


def test_the_minimum_span_keeps_short_overlaps_out(registry: Registry, world: World) -> None:
    excerpt = world.texts["MPL-2.0"][9000:9400]
    output = UNRELATED[:500] + excerpt + UNRELATED[500:1000]
    for checker in _checkers(registry, world):
        assert [f.work_id for f in checker.check_text(output).findings] == [world.works["MPL-2.0"]]
    for checker in _checkers(registry, world, min_span=1000):
        assert checker.check_text(output).findings == ()
    with pytest.raises(InputError, match="positive"):
        Checker(world.sketch, SketchNotices(world.sketch), min_span=0)
