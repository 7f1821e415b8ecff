"""Explicit limits on templates and on the registration data checked against them.

Every limit bounds work done on untrusted input (template JSON from an API client,
registration bodies of up to 2000 records per batch, ``idis.md`` §6.6).
"""

from __future__ import annotations

__all__ = [
    "FIRST_ITEM_INDEX",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_EXTENSIONS",
    "MAX_ITEMS",
    "MAX_NAME_LENGTH",
    "MAX_NUMBER_DIGITS",
    "MAX_PATTERN_LENGTH",
    "MAX_REFERENCES",
    "MAX_STRING_LENGTH",
    "MAX_URL_LENGTH",
    "MAX_VERSION_LENGTH",
    "RESERVED_INDEXES",
]

#: business data starts at index 2000 (§8.4)
FIRST_ITEM_INDEX = 2000
#: TEMPLATE_ID (1000) and TEMPLATE (1001, reserved) are written by the node, never sent (§8.1)
RESERVED_INDEXES = frozenset({1000, 1001})
#: items per template
MAX_ITEMS = 200
#: characters in an item's Chinese or English name, a prefix, a code or a template name
MAX_NAME_LENGTH = 64
MAX_VERSION_LENGTH = 32
MAX_DESCRIPTION_LENGTH = 1000
#: characters in one string value; also the default ``maxLength`` (§8.2: 4000)
MAX_STRING_LENGTH = 4000
#: significant digits of a number (§8.2: 38, as in a database NUMBER column)
MAX_NUMBER_DIGITS = 38
#: characters of a string item's regular expression (bounds compile time)
MAX_PATTERN_LENGTH = 256
MAX_EXTENSIONS = 32
MAX_URL_LENGTH = 2048
#: handles in one reference value (§13.1 shows a list)
MAX_REFERENCES = 100
