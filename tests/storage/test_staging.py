"""stage_items hands DuckDB the items' texts and HTML as they are, without leaving a UTF-8 copy
inside each Python string for as long as the items live (see staging._utf8)."""

from __future__ import annotations

import sys

from techwatch.storage.staging import stage_items, unique_items
from tests.storage.factories import item, outcome


def test_texts_are_staged_as_given_and_leave_no_utf8_copy_behind() -> None:
    texts = ["Sécurité : mise à jour — « correctif » " * 50, "中文字符 Новости", "", "plain"]
    items = [item("s1", str(n), text=text) for n, text in enumerate(texts)]
    sizes = [(sys.getsizeof(i.text), sys.getsizeof(i.html)) for i in items]

    staged = stage_items(unique_items([outcome("s1", items)]))

    assert staged["text"].to_pylist() == texts
    assert staged["html"].to_pylist() == [f"<p>{text}</p>" for text in texts]
    assert [(sys.getsizeof(i.text), sys.getsizeof(i.html)) for i in items] == sizes
