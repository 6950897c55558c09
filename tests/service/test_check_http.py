"""The publication check and the sketch over HTTP: a party's ``consentry check`` asks
the registry's ``/v1/check`` and gets the verdicts the registry's own check gives; with
a sketch it checks offline and sends nothing; ``sketch export`` downloads the sketch the
operator would export, and ``sketch update`` fetches only what changed, verified with
the log's key before a byte is written. Hostile bodies are refused as problems."""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import ImageOps

from consentry import app
from consentry.app.remote_checking import SketchState
from consentry.crypto import FileKeyStore, KeyPair
from consentry.crypto.httpsig import sign_request
from consentry.index import Sketch
from consentry.log import NoteVerifier
from consentry.log.note import Checkpoint, sign_checkpoint, signature_lines
from consentry.settings import Settings
from tests.conftest import LICENSES, STDLIB
from tests.e2e.conftest import Cli
from tests.service.conftest import Served, serving
from tests.unit.fingerprint.test_image_keypoints import _photo, _png

_KEYWORDS = {
    "self", "return", "import", "from", "class", "while", "raise", "except", "elif",
    "else", "pass", "break", "continue", "lambda", "yield", "None", "True", "False",
    "with", "assert", "global", "nonlocal", "finally", "print", "range", "isinstance",
    "str", "int", "len", "dict", "list", "float", "super", "type", "object",
}  # fmt: skip


def _registered(served: Served, tmp_path: Path) -> tuple[Cli, str]:
    """The operator registers real licences, a stdlib module and a photograph: its
    CLI (on the served database), and the log's verifier key."""
    operator = served.operator()
    owner = operator("owner", "create", "Ada", "--json").records()[0]["id"]
    works = tmp_path / "works"
    works.mkdir()
    for name in ("GPL-3", "MPL-2.0"):
        (works / name).write_text((LICENSES / name).read_text())
    (works / "decoder.py").write_text((STDLIB / "json" / "decoder.py").read_text())
    (works / "astronaut.png").write_bytes(_png(_photo("astronaut.png")))
    operator("work", "register", str(works), "--owner", owner)
    return operator, operator("log", "key").stdout.strip()


def _outputs(tmp_path: Path) -> dict[str, Path]:
    """A copied excerpt, a renamed-identifier copy of code, an unrelated text and a
    mirrored copy of the photograph, as files a user would check."""
    essay = "An essay on gardens, seeds and weather. " * 8
    code = (STDLIB / "json" / "decoder.py").read_text()
    for number, name in enumerate(sorted(set(re.findall(r"\b[a-z_][a-z_0-9]{3,}\b", code)))):
        if name not in _KEYWORDS:
            code = re.sub(rf"\b{name}\b", f"v{number}", code)
    files = {
        "excerpt": ("essay.txt", essay + (LICENSES / "MPL-2.0").read_text()[6000:6500] + essay),
        "code": ("mine.py", code),
        "unrelated": ("notes.txt", (LICENSES / "BSD").read_text()),
    }
    out = tmp_path / "outputs"
    out.mkdir()
    paths = {}
    for what, (name, text) in files.items():
        paths[what] = out / name
        paths[what].write_text(text)
    paths["image"] = out / "mirrored.png"
    paths["image"].write_bytes(_png(ImageOps.mirror(_photo("astronaut.png"))))
    return paths


def _check(cli: Cli, path: Path, *extra: str) -> dict[str, Any]:
    run = cli("check", str(path), "--json", *extra, expect=None)
    assert run.code in (0, 1), run
    (report,) = run.records()
    assert run.code == (0 if report["publishable"] else 1)
    return dict(report)


def test_a_check_over_http_gives_the_registry_s_own_verdicts(
    served: Served, tmp_path: Path, http: httpx.Client
) -> None:
    operator, _ = _registered(served, tmp_path)
    lab = served.party(tmp_path, "lab")
    outputs = _outputs(tmp_path)
    for what, path in outputs.items():
        remote, local = _check(lab, path), _check(operator, path)
        assert remote == local, what
    works = {Path(w["path"]).name: w["id"] for w in operator("work", "list", "--json").records()}
    found = {what: _check(lab, path) for what, path in outputs.items()}
    assert found["unrelated"] == {**found["unrelated"], "verdict": "clear", "findings": []}
    for what, work in [("excerpt", "MPL-2.0"), ("code", "decoder.py"), ("image", "astronaut.png")]:
        (finding,) = found[what]["findings"]
        assert (finding["work_id"], finding["verdict"]) == (works[work], "blocked"), what
    assert found["image"]["findings"][0]["match"] == "image"
    # The human form is the same too.
    excerpt = outputs["excerpt"]
    assert (
        lab("check", str(excerpt), expect=1).stdout
        == operator("check", str(excerpt), expect=1).stdout
    )

    # Any client, unsigned: text as JSON, an image as base64; the same report.
    text = http.post(
        f"{served.url}/v1/check", json={"name": "essay.txt", "text": excerpt.read_text()}
    )
    assert text.status_code == 200
    assert text.json() == {**found["excerpt"], "name": "essay.txt"}
    image = http.post(
        f"{served.url}/v1/check",
        json={
            "name": "out.png",
            "content_base64": base64.b64encode(outputs["image"].read_bytes()).decode(),
        },
    )
    assert image.json()["findings"] == found["image"]["findings"]


def test_works_registered_while_serving_are_found_at_once(served: Served, tmp_path: Path) -> None:
    operator, _ = _registered(served, tmp_path)
    lab = served.party(tmp_path, "lab")
    late = (LICENSES / "Apache-2.0").read_text()
    copy = tmp_path / "copy.txt"
    copy.write_text("Preface. " * 30 + late[3000:3600])
    assert _check(lab, copy)["verdict"] == "clear"  # the served index is now in memory
    works = tmp_path / "late"
    works.mkdir()
    (works / "Apache-2.0").write_text(late)
    owner = operator("owner", "list", "--json").records()[0]["id"]
    operator("work", "register", str(works), "--owner", owner)
    assert _check(lab, copy) == _check(operator, copy)
    assert _check(lab, copy)["verdict"] == "blocked"


def test_the_sketch_over_http_is_the_one_the_operator_exports(
    served: Served, tmp_path: Path, http: httpx.Client
) -> None:
    operator, vkey = _registered(served, tmp_path)
    lab = served.party(tmp_path, "lab")
    downloaded, exported = tmp_path / "lab.sketch", tmp_path / "operator.sketch"
    remote = lab("sketch", "export", "--out", str(downloaded), "--json").records()[0]
    local = operator("sketch", "export", "--out", str(exported), "--json").records()[0]
    assert downloaded.read_bytes() == exported.read_bytes()
    assert {**remote, "sketch": None} == {**local, "sketch": None}
    assert remote["works"] == 4

    # Offline from the sketch: the verdicts of the sketch the operator checks with.
    outputs = _outputs(tmp_path)
    for what in ("excerpt", "code", "unrelated", "image"):
        offline = _check(lab, outputs[what], "--sketch", str(downloaded))
        assert offline == _check(operator, outputs[what], "--sketch", str(exported)), what
    # ... and nothing leaves the machine: with no registry to reach, it still checks.
    away = Cli(lab.home, keys=lab.keys, env={"CONSENTRY_REGISTRY": "http://127.0.0.1:9"})
    alone = _check(away, outputs["excerpt"], "--sketch", str(downloaded), "--log-key", vkey)
    assert alone["verdict"] == "blocked"

    # Cacheable: the ETag names the checkpoint; a cache asks again and gets a 304.
    first = http.get(f"{served.url}/v1/sketch")
    assert first.content == exported.read_bytes()
    assert first.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    again = http.get(f"{served.url}/v1/sketch", headers={"if-none-match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)


def test_an_update_fetches_only_what_changed_and_gives_a_fresh_export(
    served: Served, tmp_path: Path, http: httpx.Client
) -> None:
    operator, vkey = _registered(served, tmp_path)
    lab = served.party(tmp_path, "lab")
    users = tmp_path / "users.sketch"
    lab("sketch", "export", "--out", str(users))
    late = tmp_path / "late"
    late.mkdir()
    (late / "Apache-2.0").write_text((LICENSES / "Apache-2.0").read_text())
    owner = operator("owner", "list", "--json").records()[0]["id"]
    operator("work", "register", str(late), "--owner", owner)
    copy = tmp_path / "copy.txt"
    copy.write_text("Preface. " * 30 + (LICENSES / "Apache-2.0").read_text()[3000:3600])
    assert _check(lab, copy, "--sketch", str(users))["verdict"] == "clear"
    log = NoteVerifier.from_vkey(vkey)
    before = Sketch.from_bytes(users.read_bytes(), log)
    _signed_beyond(http, served, _checkpoint_size(before))
    warned = lab("check", str(copy), "--sketch", str(users))
    assert "sketch update" in warned.stderr  # the registry has signed a later checkpoint

    state = SketchState.of(before).token
    fetched = http.get(f"{served.url}/v1/sketch/updates", params={"since": state})
    assert fetched.status_code == 200
    made = lab("sketch", "update", str(users), "--json").records()[0]
    assert made["new_works"] == 1 and made["changed_notices"] == 0
    fresh = tmp_path / "fresh.sketch"
    operator("sketch", "export", "--out", str(fresh))
    assert made["update_bytes"] < len(fetched.content) < fresh.stat().st_size / 2
    assert made["checkpoint_size"] == _checkpoint_size(Sketch.from_bytes(fresh.read_bytes(), log))

    updated = Sketch.from_bytes(users.read_bytes(), log)
    exported = Sketch.from_bytes(fresh.read_bytes(), log)
    assert updated.checkpoint == exported.checkpoint
    by_id = sorted(updated.work_notices, key=lambda n: str(n["work_id"]))
    assert by_id == sorted(exported.work_notices, key=lambda n: str(n["work_id"]))
    for output in [copy, *_outputs(tmp_path).values()]:
        assert _check(lab, output, "--sketch", str(users)) == _check(
            lab, output, "--sketch", str(fresh)
        )
    assert _check(lab, copy, "--sketch", str(users))["verdict"] == "blocked"

    # The update is cached by its bytes; one made for another sketch does not apply.
    etag = fetched.headers["etag"]
    cached = http.get(
        f"{served.url}/v1/sketch/updates", params={"since": state}, headers={"if-none-match": etag}
    )
    assert cached.status_code == 304
    stale = tmp_path / "stale.update"
    lab("sketch", "update", str(fresh), "--out", str(stale))
    refused = lab("sketch", "update", str(users), "--from", str(stale), expect=2)
    assert "does not follow this sketch" in refused.stderr


def _signed_beyond(http: httpx.Client, served: Served, size: int) -> None:
    """Wait for the service's checkpointer to sign the log past ``size``."""
    deadline = time.monotonic() + 30
    while http.get(f"{served.url}/v1/log/checkpoint").json()["size"] <= size:
        assert time.monotonic() < deadline, "the log was not signed past its sketch"
        time.sleep(0.05)


def _checkpoint_size(sketch: Sketch) -> int:
    return Checkpoint.parse(signature_lines(sketch.checkpoint)[0]).size


def _problem(response: httpx.Response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"/problems/{kind}"
    return str(body["detail"])


def test_hostile_bodies_are_refused_as_problems(
    served: Served, tmp_path: Path, http: httpx.Client
) -> None:
    _registered(served, tmp_path)
    url = f"{served.url}/v1/check"
    detail = _problem(http.post(url, json={"content_base64": "not*base64"}), 400, "invalid-input")
    assert "base64" in detail
    assert "exactly one" in _problem(http.post(url, json={}), 400, "invalid-input")
    both = {"text": "a", "content_base64": "YQ=="}
    assert "exactly one" in _problem(http.post(url, json=both), 400, "invalid-input")
    _problem(http.post(url, json={"text": "a", "surprise": 1}), 400, "invalid-input")
    _problem(http.post(url, json={"text": "a", "min_span": 0}), 400, "invalid-input")
    binary = base64.b64encode(bytes(range(256)) * 8).decode()
    assert "binary" in _problem(
        http.post(url, json={"name": "blob.bin", "content_base64": binary}), 400, "invalid-input"
    )
    broken = base64.b64encode(_png(_photo("camera.png"))[:300]).decode()
    _problem(
        http.post(url, json={"name": "cut.png", "content_base64": broken}), 400, "invalid-input"
    )
    nul = {"name": "nul.txt", "text": "a\x00b"}
    assert "NUL" in _problem(http.post(url, json=nul), 400, "invalid-input")
    huge = _problem(http.post(url, json={"text": "x" * (16 * 1024 * 1024 + 1)}), 413, "too-large")
    assert "16,777,216" in huge
    huge = base64.b64encode(bytes(16 * 1024 * 1024 + 3)).decode()
    _problem(http.post(url, json={"content_base64": huge}), 413, "too-large")

    updates = f"{served.url}/v1/sketch/updates"
    _problem(http.get(updates, params={"since": "f" * 64 + ".***"}), 400, "invalid-input")
    _problem(http.get(updates), 400, "invalid-input")
    # A state whose checkpoint another key signed: not this registry's sketch.
    forger = KeyPair.generate()
    origin = f"consentry.log/{forger.public.key_id}"
    forged = sign_checkpoint(Checkpoint(origin, 3, bytes(32)), forger)
    token = SketchState("0" * 64, forged).token
    _problem(http.get(updates, params={"since": token}), 422, "not-verified")


def test_grants_count_only_for_the_licensee_that_signed(
    served: Served, tmp_path: Path, http: httpx.Client
) -> None:
    operator, _ = _registered(served, tmp_path)
    lab = served.party(tmp_path, "lab")
    other = served.party(tmp_path, "other")
    mine = lab("licensee", "create", "Lab", "--json").records()[0]["id"]
    theirs = other("licensee", "create", "Other", "--json").records()[0]["id"]
    excerpt = _outputs(tmp_path)["excerpt"]
    (work,) = [f["work_id"] for f in _check(lab, excerpt)["findings"]]
    blocked = _check(lab, excerpt, "--licensee", mine)
    assert blocked["verdict"] == "blocked" and f"--licensee {mine}" in str(blocked["findings"])
    owner = operator("owner", "list", "--json").records()[0]["id"]
    request_id = lab(
        "license", "request", "--licensee", mine, "--work", work, "--purpose", "publish-output",
        "--json",
    ).records()[0]["id"]  # fmt: skip
    granted = operator("license", "grant", request_id, "--owner", owner, "--json").records()[0]
    licensed = _check(lab, excerpt, "--licensee", mine)
    assert (licensed["verdict"], licensed["findings"][0]["grant_id"]) == ("licensed", granted["id"])
    assert _check(lab, excerpt)["verdict"] == "blocked"  # unsigned: nobody's grant counts

    # Naming another licensee: refused, whether signed by someone else or not at all.
    refused = other("check", str(excerpt), "--licensee", mine, expect=2)
    assert "no key" in refused.stderr
    body = {"text": excerpt.read_text(), "licensee": mine}
    _problem(http.post(f"{served.url}/v1/check", json=body), 403, "forbidden")
    content = httpx.Request("POST", f"{served.url}/v1/check", json=body)
    content.headers.update(
        sign_request(
            method="POST",
            url=str(content.url),
            headers=dict(content.headers),
            body=content.content,
            signer=FileKeyStore(tmp_path / "other" / "keys").load(theirs),
            created=int(time.time()),
            nonce="a-nonce-of-the-other-lab",
        )
    )
    _problem(http.send(content), 403, "forbidden")


def test_a_sketch_is_never_updated_from_another_registry(served: Served, tmp_path: Path) -> None:
    _, vkey = _registered(served, tmp_path)
    lab = served.party(tmp_path, "lab")
    sketch = tmp_path / "lab.sketch"
    lab("sketch", "export", "--out", str(sketch))
    kept = sketch.read_bytes()
    home = tmp_path / "elsewhere"
    settings = Settings(
        home=home, database_url=f"sqlite:///{home / 'registry.db'}", keys_dir=home / "keys"
    )
    with app.Workspace(settings) as ws:
        app.init(ws)
    with serving(settings) as url:
        elsewhere = Cli(lab.home, keys=lab.keys, env={"CONSENTRY_REGISTRY": url})
        # Its key did not sign the sketch; pinned to the right key, its update is refused.
        assert "not signed" in elsewhere("sketch", "update", str(sketch), expect=2).stderr
        elsewhere("sketch", "update", str(sketch), "--log-key", vkey, expect=2)
        copy = _outputs(tmp_path)["excerpt"]
        elsewhere("check", str(copy), "--sketch", str(sketch), expect=2)
    assert sketch.read_bytes() == kept
