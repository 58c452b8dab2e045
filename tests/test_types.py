"""Small pure helpers of the records module."""

from __future__ import annotations

import pytest

from techwatch.types import product_label


@pytest.mark.parametrize(
    ("vendor", "product", "label"),
    [
        ("Fortinet", "FortiOS", "Fortinet FortiOS"),
        ("WordPress", "WordPress", "WordPress"),
        ("Apache", "Apache HTTP Server", "Apache HTTP Server"),
        ("microsoft", "Microsoft Exchange Server", "Microsoft Exchange Server"),
        ("", "Log4j", "Log4j"),
        ("Citrix", "", "Citrix"),
        ("", "", ""),
    ],
)
def test_a_product_label_names_the_vendor_once(vendor: str, product: str, label: str) -> None:
    assert product_label(vendor, product) == label
