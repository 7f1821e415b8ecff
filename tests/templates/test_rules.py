"""Table-driven accepted and refused values for every data type and rule."""

from __future__ import annotations

import pytest

from idnode.errors import TemplateViolation
from idnode.templates import Template, validate

BASE = {"receiptNumber": "TSQ1", "productionDate": "2024-06-23"}

ACCEPTED = [
    ("receiptNumber", "TSQ202406231", "TSQ202406231"),
    ("quantity", "12.5", "12.5"),
    ("quantity", 7, "7"),
    ("quantity", "-0", "-0"),
    ("quantity", 1000, "1000"),
    ("productionDate", "2024-02-29", "2024-02-29"),
    ("checkedAt", "2024-06-23 08:30:00", "2024-06-23 08:30:00"),
    ("manual", "https://example.com/a/manual.PDF", "https://example.com/a/manual.PDF"),
    ("manual", {"url": "http://x.cn/m.pdf", "size": 1000},
     '{"url":"http://x.cn/m.pdf","size":1000}'),
    ("associatedBoxCode", "88.608.24061301/META_8fc3752a80CASE001",
     "88.608.24061301/META_8fc3752a80CASE001"),
    ("associatedBoxCode", ["88.608/a", "88.608.1/b"], '["88.608/a","88.608.1/b"]'),
    ("voice", "https://x.cn/v.mp3", "https://x.cn/v.mp3"),
    ("video", "https://x.cn/v.mp4", "https://x.cn/v.mp4"),
    ("photo", "https://x.cn/p.jpeg?x=1", "https://x.cn/p.jpeg?x=1"),
    ("note", "任意文本", "任意文本"),
]

REFUSED = [
    ("receiptNumber", "TS", "receiptNumber (入库单号, index 2000): 'TS' has 2 characters, "
                            "not 3–20"),
    ("receiptNumber", "TSQ" + "1" * 30, "has 33 characters, not 3–20"),
    ("receiptNumber", "ABC123", "'ABC123' does not match the pattern 'TSQ[0-9]+'"),
    ("receiptNumber", 12345, "12345 is not text"),
    ("quantity", "1e3", "quantity (数量, index 2001): '1e3' is not a number in plain "
                        "decimal notation"),
    ("quantity", "1.234", "'1.234' has more than 2 decimal places"),
    ("quantity", "-1", "'-1' is below the minimum 0"),
    ("quantity", "1000.01", "'1000.01' is above the maximum 1000"),
    ("quantity", True, "True is not a number"),
    ("quantity", "1" * 39, "has more than 38 digits"),
    ("productionDate", "2021-13-01", "productionDate (生产日期, index 2003): '2021-13-01' is "
                                     "not a date in the format yyyy-MM-dd"),
    ("productionDate", "2021-2-03", "'2021-2-03' is not a date in the format yyyy-MM-dd"),
    ("productionDate", "2023-02-29", "'2023-02-29' is not a date"),
    ("productionDate", "1999-12-31", "'1999-12-31' is before 2000-01-01"),
    ("productionDate", "2100-01-01", "'2100-01-01' is after 2099-12-31"),
    ("checkedAt", "2024-06-23", "'2024-06-23' is not a date in the format "
                                "yyyy-MM-dd HH:mm:ss"),
    ("checkedAt", "2024-06-23 24:00:00", "is not a date"),
    ("manual", "ftp://x.cn/m.pdf", "'ftp://x.cn/m.pdf' is not an http or https URL"),
    ("manual", "https:///m.pdf", "is not an http or https URL"),
    ("manual", "https://x.cn/m 1.pdf", "is not an http or https URL"),
    ("manual", "https://x.cn/m.doc", "'https://x.cn/m.doc' does not end in one of .pdf"),
    ("manual", {"url": "https://x.cn/m.pdf", "size": 1001}, "is 1001 bytes, more than 1000"),
    ("manual", {"url": "https://x.cn/m.pdf", "size": -1}, "size -1 is not a number of bytes"),
    ("manual", {"href": "https://x.cn/m.pdf"}, "is not a URL or an object"),
    ("associatedBoxCode", "no-slash", "'no-slash' is not an identifier (no '/' between"),
    ("associatedBoxCode", "88.609/x", "'88.609/x' is not under the prefix 88.608"),
    ("associatedBoxCode", "88.6080/x", "'88.6080/x' is not under the prefix 88.608"),
    ("associatedBoxCode", [], "a reference list holds 1–100 identifiers, not 0"),
    ("associatedBoxCode", ["88.608/a", 3], "3 is not an identifier"),
    ("voice", "https://x.cn/v.mp4", "voice (录音, index 2007): 'https://x.cn/v.mp4' does not "
                                   "end in one of"),
    ("video", "https://x.cn/v.mp3", "does not end in one of"),
    ("photo", "https://x.cn/photo", "does not end in one of"),
    ("note", "\ud800", "is not valid Unicode text"),
    ("note", {"format": "json", "value": "x"}, "is not data of format \"string\""),
]


@pytest.mark.parametrize(("name", "value", "stored"), ACCEPTED)
def test_accepted(template: Template, name: str, value: object, stored: str) -> None:
    values = validate(template, {**BASE, name: value})
    got = {v.type: v.data.decode() for v in values}
    assert got[name] == stored


@pytest.mark.parametrize(("name", "value", "message"), REFUSED)
def test_refused(template: Template, name: str, value: object, message: str) -> None:
    with pytest.raises(TemplateViolation) as info:
        validate(template, {**BASE, name: value})
    assert len(info.value.problems) == 1
    assert message in info.value.problems[0]
    assert message in str(info.value)
