"""``idnode carrier`` and ``idnode scan`` end to end, against a real node on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from carriers.readback import zxing_texts
from idnode.auth.identity import Identity
from idnode.carriers import ndef_uri
from idnode.cli.main import main
from idnode.client import SecretKeyAuth, SyncHandleClient
from idnode.identifiers.value import HandleValue
from integration.nodeproc import NodeProcess, init_node

pytestmark = pytest.mark.integration

SECRET = "s3cret-for-tests"
WRENCH = "88.100.1/JXDY2106023"
BATCH = "88.100.1/批次-2024-06-23"
PROXY = "https://id.example.cn"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("carrier-node") / "home"
    init_node(home, secret=SECRET)
    proc = NodeProcess.start(home)
    auth = SecretKeyAuth(Identity("88.100.1/ADMIN", 301), SECRET.encode())
    with SyncHandleClient(proc.tcp, transport="tcp", auth=auth) as admin:
        admin.create_handle(WRENCH, [
            HandleValue(1, "URL", b"https://example.com/p/JXDY2106023"),
            HandleValue(2000, "productName", "锂电冲击扳手".encode())])
        admin.create_handle(BATCH, [HandleValue(2000, "batchNo", b"2024-06-23")])
    yield f"{proc.tcp[0]}:{proc.tcp[1]}"
    assert proc.stop() == 0, proc.text


def carrier(tmp_path: Path, *args: str) -> Path:
    out = tmp_path / f"code-{len(list(tmp_path.iterdir()))}.png"
    assert main(["carrier", *args, "--proxy", PROXY, "--out", str(out)]) == 0
    return out


def test_scan_resolves_a_generated_code(node: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    image = carrier(tmp_path, BATCH, "--datamatrix")
    capsys.readouterr()
    assert main(["scan", str(image), "--server", node]) == 0
    out = capsys.readouterr().out
    assert "Data Matrix at " in out
    assert f"identifier: {BATCH} (proxy URL)" in out
    assert "batchNo" in out and "2024-06-23" in out  # the record's table, as resolve prints


def test_scan_reports_every_code_in_one_image(node: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with Image.open(carrier(tmp_path, WRENCH, "--qr")) as qr, \
            Image.open(carrier(tmp_path, BATCH, "--datamatrix", "--raw")) as raw:
        both = Image.new("L", (qr.width + raw.width + 40, max(qr.height, raw.height)), 255)
        both.paste(qr.convert("L"), (0, 0))
        both.paste(raw.convert("L"), (qr.width + 40, 0))
    photo = tmp_path / "both.jpg"  # JPEG, as a camera would give
    both.save(photo, quality=90)
    capsys.readouterr()
    assert main(["scan", str(photo), "--server", node, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert sorted((f["format"], f["identifier"], f["form"]) for f in found) == [
        ("Data Matrix", BATCH, "bare handle"), ("QR Code", WRENCH, "proxy URL")]
    wrench = next(f for f in found if f["identifier"] == WRENCH)
    assert wrench["text"] == f"{PROXY}/{WRENCH}"
    values = {v["type"]: v["data"]["value"] for v in wrench["resolution"]["values"]}
    assert values["productName"] == "锂电冲击扳手"


def test_scan_exit_codes(node: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = carrier(tmp_path, "88.100.1/NOPE", "--qr")
    assert main(["scan", str(missing), "--server", node]) == 1  # the server said 100
    assert "handle not found" in capsys.readouterr().err.lower()
    assert main(["scan", str(missing), "--no-resolve"]) == 0
    assert "identifier: 88.100.1/NOPE (proxy URL)" in capsys.readouterr().out
    unreachable = ["--server", "127.0.0.1:1", "--timeout", "1", "--tcp"]
    assert main(["scan", str(missing), *unreachable]) == 3
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    assert main(["scan", str(blank)]) == 2
    assert "no QR code, Data Matrix" in capsys.readouterr().err
    not_image = tmp_path / "notes.txt"
    not_image.write_text("hello")
    assert main(["scan", str(not_image)]) == 2
    assert main(["scan", str(tmp_path / "absent.png")]) == 2


def test_carrier_command_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    svg = tmp_path / "w.svg"
    assert main(["carrier", BATCH, "--datamatrix", "--out", str(svg), "--size", "20mm",
                 "--human-readable"]) == 0
    assert 'width="20mm"' in svg.read_text(encoding="utf-8")
    assert "批次-2024-06-23" in svg.read_text(encoding="utf-8")
    png = tmp_path / "w.png"
    assert main(["carrier", WRENCH, "--out", str(png), "--module", "0.25mm",
                 "--error", "H"]) == 0
    assert "3 px per module" in capsys.readouterr().out
    assert zxing_texts(png.read_bytes()) == [f"https://hdl.handle.net/{WRENCH}"]
    with Image.open(png) as image:
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.1)
    nfc = tmp_path / "w.ndef"
    assert main(["carrier", BATCH, "--nfc", "--proxy", PROXY, "--out", str(nfc)]) == 0
    out = capsys.readouterr().out
    url = f"{PROXY}/88.100.1/%E6%89%B9%E6%AC%A1-2024-06-23"
    assert ndef_uri(nfc.read_bytes()) == url
    assert f"hex: {nfc.read_bytes().hex()}" in out and "fits NTAG213" in out
    assert main(["carrier", BATCH, "--nfc", "--raw"]) == 2
    assert main(["carrier", "88.100.1/" + "批" * 240, "--qr", "--error", "Q",
                 "--out", str(png)]) == 2
    assert "capacity is 1663 bytes" in capsys.readouterr().err
    assert main(["carrier", "no-slash", "--out", str(png)]) == 2
    assert main(["carrier"]) == 2


def test_carrier_to_stdout(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["carrier", WRENCH, "--format", "png"]) == 0
    captured = capsysbinary.readouterr()
    assert zxing_texts(captured.out) == [f"https://hdl.handle.net/{WRENCH}"]
    assert b"wrote PNG to standard output" in captured.err


def test_sheet_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listing = tmp_path / "ids.txt"
    listing.write_text("# batch labels\n\n" + "\n".join(
        f"88.100.1/批次-{n:03d}" for n in range(8)) + "\n", encoding="utf-8")
    pdf = tmp_path / "sheet.pdf"
    assert main(["carrier", "--sheet", str(listing), "--out", str(pdf), "--columns", "2",
                 "--rows", "3", "--datamatrix"]) == 0
    assert "8 labels on 2 page(s)" in capsys.readouterr().out
    assert pdf.read_bytes().startswith(b"%PDF")
    assert main(["carrier", "--sheet", str(listing), "--out", str(tmp_path / "s.svg"),
                 "--page", "A5"]) == 0
    assert (tmp_path / "s.svg").exists()  # 8 labels fit one A5 page of 3 × 7
    listing.write_text("88.100.1/ok\nbad line\n", encoding="utf-8")
    assert main(["carrier", "--sheet", str(listing), "--out", str(pdf)]) == 2
    assert f"{listing}:2:" in capsys.readouterr().err


def test_scan_forwards_resolve_options() -> None:
    from idnode.carriers import Identified
    from idnode.cli.commands.carrier import _resolve_args
    from idnode.cli.main import build_parser

    args = build_parser().parse_args([
        "scan", "x.png", "--root", "10.0.0.1:2641", "--root", "10.0.0.2", "--http",
        "http://127.0.0.1:24001", "--trace", "--json", "--timeout", "2.5"])
    forwarded = _resolve_args(args, Identified("-88.1/x", "handle", "bare handle"))
    assert forwarded.handle == "-88.1/x"  # a leading "-" stays an operand
    assert forwarded.root == ["10.0.0.1:2641", "10.0.0.2"]
    assert (forwarded.http, forwarded.trace, forwarded.json, forwarded.timeout) == \
        ("http://127.0.0.1:24001", True, True, 2.5)
    assert forwarded.func.__module__ == "idnode.cli.commands.resolve"


def test_scan_flattens_transparent_images(tmp_path: Path) -> None:
    from idnode.carriers import decode_image

    image = carrier(tmp_path, WRENCH, "--qr")
    with Image.open(image) as opaque:
        mask = opaque.convert("L").point(lambda v: 255 - v)  # dark modules opaque
    clear = Image.new("RGBA", mask.size, (0, 0, 0, 0))
    clear.putalpha(mask)  # black modules on a fully transparent background
    clear.save(tmp_path / "clear.png")
    (found,) = decode_image(tmp_path / "clear.png")
    assert found.text == f"{PROXY}/{WRENCH}"


def test_carrier_format_must_be_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["carrier", WRENCH, "--out", str(tmp_path / "w.jpg")]) == 2
    assert "cannot tell the format" in capsys.readouterr().err
    assert main(["carrier", WRENCH, "--out", str(tmp_path / "w.jpg"), "--format", "png"]) == 0
    assert main(["carrier", WRENCH, "--out", str(tmp_path / "w.pdf")]) == 2
    assert main(["carrier", WRENCH, "--out", str(tmp_path / "w"), "--dpi", "0"]) == 2
