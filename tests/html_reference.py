"""The reference reading of html_to_text's blocks, shared by the tests that compare it with
html_to_text: block marks put where html_to_text first put them, then one line per block."""

from __future__ import annotations

import re
import unicodedata

from techwatch import clean

#: The block names as one flat alternation, as clean.py wrote them before its trie.
BLOCK_NAMES = "|".join(clean.BLOCK_TAGS)
_START = re.compile(rf"<(?:{BLOCK_NAMES})(?=[\s/>])")
_END = re.compile(rf"</(?:{BLOCK_NAMES})>")


def mark_blocks(safe: str) -> str:
    """nh3's output with clean._BLOCK_MARK before each block start tag and after each end tag."""
    mark = clean._BLOCK_MARK
    return _END.sub(rf"\g<0>{mark}", _START.sub(rf"{mark}\g<0>", safe))


def fold_blocks(raw: str) -> str:
    """The text between the marks, one line per block: whitespace folded, empty blocks
    dropped, NFC."""
    blocks = (" ".join(block.split()) for block in raw.split(clean._BLOCK_MARK))
    return unicodedata.normalize("NFC", "\n".join(block for block in blocks if block))
