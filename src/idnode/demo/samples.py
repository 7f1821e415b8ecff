"""Sample identifiers the demo loads into its enterprise nodes: products, batches, devices,
parts, and the wine-traceability chain of ``idis.md`` §13.1 across two enterprises.

Every record follows the IDIS index conventions (§2.2): a URL at index 1, EMAIL at 2 where a
contact makes sense, HS_ADMIN at 100 (the prefix's admin group), and business attributes from
index 2000 (``productName``, ``model``, ``batchNo``, ``productionDate``, ``manufacturer``,
``associatedBatch`` …). Links to other identifiers, also across enterprises, are plain
identifier text (lists as JSON arrays, like dataType 5 in §13.1). Data values live for an hour
(TTL 3600); prefix records for a day.

The companies and most identifiers are made up. ``88.118.8/JXDY2106023`` is the cordless impact
wrench shown at the 2021 Jiangsu identifier conference (``idis.md`` §1.2); its data here is
invented.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData

__all__ = ["ALIAS", "DATA_TTL", "FEATURED", "GS1_COMPANY", "GS1_ELEMENT_STRING", "PREFIX_TTL",
           "SAMPLES", "Sample", "gs1_mapping"]

DATA_TTL = 3600
PREFIX_TTL = 86400
#: the identifier the demo resolves with a trace, and the old identifier aliasing it
FEATURED = "88.118.8/JXDY2106023"
ALIAS = "88.118.8/2021-JXDY-023"

#: a GS1-coded product: its GTIN, serial, and the company prefix mapped to 88.118.8
GS1_GTIN, GS1_SERIAL, GS1_COMPANY = "09521234543213", "12345", "9521234"
GS1_ELEMENT_STRING = f"(01){GS1_GTIN}(21){GS1_SERIAL}"

_Fields = tuple[tuple[str, str | list[str]], ...]


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample record and what it is, for people."""

    handle: str
    what: str
    values: tuple[HandleValue, ...]


def _record(handle: str, what: str, url: str, fields: _Fields, *, email: str = "",
            loc: str = "") -> Sample:
    prefix = handle.partition("/")[0]
    admin = AdminData(ALL_PERMISSIONS, f"{prefix}/ADMIN", 200).to_bytes()
    values = [HandleValue(1, "URL", url.encode(), ttl=DATA_TTL)]
    if email:
        values.append(HandleValue(2, "EMAIL", email.encode(), ttl=DATA_TTL))
    values.append(HandleValue(100, "HS_ADMIN", admin, ttl=PREFIX_TTL))
    if loc:
        values.append(HandleValue(10320, "10320/LOC", loc.encode(), ttl=DATA_TTL))
    for index, (kind, data) in enumerate(fields, start=2000):
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        values.append(HandleValue(index, kind, text.encode(), ttl=DATA_TTL))
    values.sort(key=lambda v: v.index)
    return Sample(handle, what, tuple(values))


def _alias(handle: str, target: str, what: str) -> Sample:
    return Sample(handle, what, (HandleValue(1, "HS_ALIAS", target.encode(), ttl=DATA_TTL),))


def _loc(*hrefs: tuple[str, str]) -> str:
    """A 10320/LOC list: the first location is the default, the others are views."""
    rows = [f'  <location href="{href}" id="{i}" weight="{1 if i == 0 else 0}"'
            + (f' view="{view}"' if view else "") + " />"
            for i, (href, view) in enumerate(hrefs)]
    return '<locations chooseby="locatt,weighted">\n' + "\n".join(rows) + "\n</locations>"


_TOOLS = "示例电动工具有限公司 Example Power Tools Co., Ltd."
_TOOLS_WEB = "https://tools.example.com"


def _wrench(serial: str, date: str, batch: str) -> Sample:
    return _record(
        f"88.118.8/{serial}", "cordless impact wrench 无刷锂电冲击扳手",
        f"{_TOOLS_WEB}/p/{serial}",
        (("productName", "无刷锂电冲击扳手 cordless impact wrench"),
         ("model", "JXDY-20V-350"), ("serialNo", serial), ("productionDate", date),
         ("manufacturer", _TOOLS), ("associatedBatch", f"88.118.8/{batch}"),
         ("maxTorque", "350 N·m"), ("batteryVoltage", "20 V"),
         ("associatedDevice", "88.118.9/VMC850-2020-0137")),
        email="service@tools.example.com",
        loc=_loc((f"{_TOOLS_WEB}/p/{serial}", ""),
                 (f"{_TOOLS_WEB}/api/products/{serial}.json", "json"),
                 (f"{_TOOLS_WEB}/manuals/JXDY-20V-350.pdf", "manual")))


def _tool_batch(batch: str, date: str, serials: list[str]) -> Sample:
    return _record(
        f"88.118.8/{batch}", "production batch 生产批次", f"{_TOOLS_WEB}/batches/{batch}",
        (("batchNo", batch), ("productName", "无刷锂电冲击扳手 cordless impact wrench"),
         ("productionDate", date), ("quantity", "500"),
         ("productionLine", "总装三线 assembly line 3"),
         ("qualityInspection", "合格 passed (GB/T 3883.202)"),
         ("associatedProducts", [f"88.118.8/{serial}" for serial in serials])))


POWER_TOOLS = (
    _wrench("JXDY2106023", "2021-06-08", "BATCH-20210601"),
    _wrench("JXDY2106024", "2021-06-08", "BATCH-20210601"),
    _wrench("JXDY2106025", "2021-06-09", "BATCH-20210601"),
    _wrench("JXDY2106101", "2021-06-15", "BATCH-20210602"),
    _tool_batch("BATCH-20210601", "2021-06-08", ["JXDY2106023", "JXDY2106024", "JXDY2106025"]),
    _tool_batch("BATCH-20210602", "2021-06-15", ["JXDY2106101"]),
    # A unit carrying a GS1 barcode: (01)09521234543213(21)12345 maps here through the
    # mapping record the top-level nodes publish (88/MAP.GS1.9521234, see GS1_MAPPING).
    _record(f"88.118.8/{GS1_GTIN}.{GS1_SERIAL}", "angle grinder with a GS1 barcode 角磨机",
            f"{_TOOLS_WEB}/p/{GS1_GTIN}/{GS1_SERIAL}",
            (("productName", "角磨机 angle grinder"), ("gtin", GS1_GTIN),
             ("serialNo", GS1_SERIAL), ("manufacturer", _TOOLS))),
    _record("88.118.8/PART-BLM-2040", "brushless motor part 无刷电机零部件",
            f"{_TOOLS_WEB}/parts/BLM-2040",
            (("productName", "无刷电机 brushless motor"), ("model", "BLM-2040"),
             ("manufacturer", _TOOLS), ("ratedPower", "450 W"))),
    _record("88.118.8/DEV-TORQUE-03", "torque test bench 扭矩测试台",
            f"{_TOOLS_WEB}/devices/DEV-TORQUE-03",
            (("deviceName", "扭矩测试台 torque test bench"), ("model", "TT-500"),
             ("location", "总装三线 assembly line 3"), ("calibrationDate", "2024-01-10"))),
    _alias(ALIAS, FEATURED, "old identifier of the wrench 旧标识 (HS_ALIAS)"),
)

_CNC = "示例数控机床有限公司 Example CNC Machine Tools Co., Ltd."
_CNC_WEB = "https://cnc.example.com"

CNC_MACHINES = (
    _record("88.118.9/VMC850-2020-0137", "CNC machine (device) 立式加工中心",
            f"{_CNC_WEB}/devices/VMC850-2020-0137",
            (("deviceName", "立式加工中心 vertical machining centre"), ("model", "VMC850"),
             ("serialNo", "VMC850-2020-0137"), ("manufacturer", _CNC),
             ("commissioningDate", "2020-11-02"), ("owner", "88.118.8"),
             ("controller", "CNC controller v4.2"),
             ("maintenanceLog", ["88.118.9/MNT-20240312-0137"]),
             ("spareParts", ["88.118.9/SP-SPINDLE-BT40"])),
            email="service@cnc.example.com"),
    _record("88.118.9/MNT-20240312-0137", "maintenance record 维保记录",
            f"{_CNC_WEB}/maintenance/MNT-20240312-0137",
            (("device", "88.118.9/VMC850-2020-0137"), ("maintenanceDate", "2024-03-12"),
             ("work", "主轴润滑与精度校准 spindle lubrication and accuracy calibration"),
             ("engineer", "E-0451"))),
    _record("88.118.9/SP-SPINDLE-BT40", "spare part 备件",
            f"{_CNC_WEB}/parts/SP-SPINDLE-BT40",
            (("productName", "BT40 主轴 BT40 spindle"), ("model", "SP-SPINDLE-BT40"),
             ("manufacturer", _CNC), ("maxSpeed", "12000 r/min"))),
)

_WINE = "示例酒业有限公司 Example Distillery Co., Ltd."
_WINE_WEB = "https://distillery.example.com"
_WINE_NAME = "示例酱香型白酒 53%vol 500ml (sample baijiu)"


def _bottle(code: str, case: str) -> Sample:
    return _record(f"88.168.5288/{code}", "bottle of liquor 瓶酒", f"{_WINE_WEB}/trace/{code}",
                   (("bottleCode", code), ("productName", _WINE_NAME),
                    ("productionDate", "2024-06-01"), ("specifications", "500ml, 53%vol"),
                    ("manufacturer", _WINE),
                    ("associatedBoxCode", f"88.168.5288/{case}"),
                    ("associatedPackagingBatch", "88.168.5288/BZ20240601")))


def _case(code: str, bottles: list[str]) -> Sample:
    return _record(f"88.168.5288/{code}", "case of liquor 箱酒", f"{_WINE_WEB}/trace/{code}",
                   (("caseCode", code), ("productName", _WINE_NAME),
                    ("quantity", str(len(bottles))),
                    ("associatedBottleCodes", [f"88.168.5288/{b}" for b in bottles]),
                    ("associatedPackagingBatch", "88.168.5288/BZ20240601")))


DISTILLERY = (
    _record("88.168.5288/NJ20240501", "brewing batch 酿造批次", f"{_WINE_WEB}/trace/NJ20240501",
            (("brewingBatch", "NJ20240501"), ("productionDate", "2024-05-01"),
             ("cellarNumber", "J-17"), ("originalLiquorGrade", "一级 grade 1"),
             ("grainInput", "12.5 t"), ("associatedBlendingBatch", "88.168.5288/GD20240520"))),
    _record("88.168.5288/GD20240520", "blending batch 勾兑批次",
            f"{_WINE_WEB}/trace/GD20240520",
            (("blendingBatch", "GD20240520"), ("productionDate", "2024-05-20"),
             ("relatedBrewingBatches", ["88.168.5288/NJ20240501"]),
             ("associatedPackagingBatch", "88.168.5288/BZ20240601"))),
    _record("88.168.5288/BZ20240601", "packaging batch 包装批次",
            f"{_WINE_WEB}/trace/BZ20240601",
            (("packagingBatch", "BZ20240601"), ("productionDate", "2024-06-01"),
             ("specifications", "6 × 500ml"), ("quantity", "1200"),
             ("relatedBlendingBatch", "88.168.5288/GD20240520"))),
    _case("CASE001", ["BOTTLE000101", "BOTTLE000102"]),
    _case("CASE002", ["BOTTLE000201"]),
    _bottle("BOTTLE000101", "CASE001"),
    _bottle("BOTTLE000102", "CASE001"),
    _bottle("BOTTLE000201", "CASE002"),
)

DISTRIBUTOR = (
    _record("88.168.6001/TSQ202406231", "warehouse receipt 入库单 (links the distillery's cases)",
            "https://trade.example.com/receipts/TSQ202406231",
            (("receiptNumber", "TSQ202406231"), ("receiveDate", "2024-06-23"),
             ("supplier", "88.168.5288"),
             ("associatedBoxCode", ["88.168.5288/CASE001", "88.168.5288/CASE002"]))),
)

_SG = "87.01.01.SG1020.20240315"  # SJ/T 11144 class 87.01.01 信号发生器 . model . date

INSTRUMENTS = (
    _record(f"88.200.17/{_SG}.0001", "signal generator 信号发生器 (electronics coding rule)",
            f"https://instruments.example.com/p/{_SG}.0001",
            (("productName", "函数信号发生器 function signal generator"), ("model", "SG1020"),
             ("productionDate", "2024-03-15"),
             ("manufacturer", "示例电子仪器有限公司 Example Instruments Co., Ltd."),
             ("associatedBatch", "88.200.17/BATCH-SG1020-20240315"),
             ("frequencyRange", "1 µHz – 20 MHz")),
            email="support@instruments.example.com"),
    _record("88.200.17/BATCH-SG1020-20240315", "production batch 生产批次",
            "https://instruments.example.com/batches/BATCH-SG1020-20240315",
            (("batchNo", "BATCH-SG1020-20240315"), ("productionDate", "2024-03-15"),
             ("quantity", "200"))),
)

#: enterprise prefix → its sample records
SAMPLES: dict[str, tuple[Sample, ...]] = {
    "88.118.8": POWER_TOOLS,
    "88.118.9": CNC_MACHINES,
    "88.168.5288": DISTILLERY,
    "88.168.6001": DISTRIBUTOR,
    "88.200.17": INSTRUMENTS,
}


def gs1_mapping() -> tuple[str, tuple[HandleValue, ...]]:
    """The mapping record (映射记录) the top-level nodes publish for the GS1 company prefix
    of 88.118.8: serialised items to ``<gtin>.<serial>``, plain GTINs to ``<gtin>``."""
    from idnode.schemes.mapping import mapping_handle, mapping_values
    values = (*mapping_values("gs1", GS1_COMPANY, "88.118.8", "{gtin}.{ai21}", index=1,
                              ttl=PREFIX_TTL),
              *mapping_values("gs1", GS1_COMPANY, "88.118.8", "{gtin}", index=2,
                              ttl=PREFIX_TTL))
    return mapping_handle("gs1", GS1_COMPANY), tuple(values)
