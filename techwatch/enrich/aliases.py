"""The hand-written alias table: names that advisories and the press use for the same thing.

Advisories name one product many ways ("Citrix ADC", "NetScaler", "Application Delivery
Controller"); the dictionary built from them cannot know that these are one product, nor that
"FortiGate" news is about FortiOS. Only what an advisor would say is the same product goes
here: components that are patched with their product (Win32k with Windows) included, distinct
products of one family (Exchange Server and Exchange Online) kept apart.

Entries are plain data; `names` folds them (case, accents, punctuation) before use.
"""

from __future__ import annotations

from typing import Final

#: Vendor spellings -> the canonical vendor name. Legal suffixes (Inc., GmbH...) need no entry.
VENDORS: Final[dict[str, tuple[str, ...]]] = {
    "Apache": ("The Apache Software Foundation", "Apache Software Foundation", "ASF"),
    "Adobe": ("Adobe Systems",),
    "Cisco": ("Cisco Systems",),
    "Citrix": ("Citrix Systems", "Cloud Software Group"),
    "F5": ("F5 Networks",),
    "Google": ("Android",),
    "HPE": ("Hewlett Packard Enterprise", "Hewlett Packard Enterprise (HPE)", "HP Enterprise"),
    "Ivanti": ("Pulse Secure",),
    "Linux": ("The Linux Kernel Organization", "Linux Kernel Organization"),
    "Palo Alto Networks": ("paloaltonetworks", "Palo Alto"),
    "Progress": ("Progress Software",),
    "Zimbra": ("Synacor",),
}

#: (vendor, canonical product, other names). An alias matches a product name as advisories
#: give it (KEV "Win32k", CPE "adaptive_security_appliance_software") and names in free text.
PRODUCTS: Final[tuple[tuple[str, str, tuple[str, ...]], ...]] = (
    ("Apache", "Log4j", ("Log4j2", "Log4Shell", "Apache Log4j")),
    ("Apple", "iOS", ("iPhone OS",)),
    ("Atlassian", "Confluence", ("Confluence Server", "Confluence Data Center")),
    ("Cisco", "Adaptive Security Appliance", ("ASA", "Cisco ASA", "ASA Software")),
    (
        "Citrix",
        "NetScaler ADC",
        ("Citrix ADC", "ADC", "NetScaler", "Application Delivery Controller"),
    ),
    ("Citrix", "NetScaler Gateway", ("Citrix Gateway", "Gateway")),
    ("Fortinet", "FortiOS", ("FortiGate",)),
    ("Google", "Chrome", ("Google Chrome", "Chromium", "Chromium V8", "Chrome V8")),
    ("Ivanti", "Connect Secure", ("Pulse Connect Secure", "Ivanti Connect Secure")),
    ("Linux", "Kernel", ("Linux", "Linux Kernel")),
    ("Microsoft", "Exchange Server", ("Exchange", "Microsoft Exchange")),
    ("Microsoft", "Internet Information Services", ("IIS",)),
    ("Microsoft", "Microsoft 365", ("Office 365", "M365")),
    ("Microsoft", "Office", ("Microsoft Office", "Microsoft 365 Apps")),
    ("Microsoft", "SharePoint", ("SharePoint Server",)),
    ("Microsoft", "Windows", ("Win32k", "Windows Kernel")),
    ("Oracle", "WebLogic Server", ("WebLogic",)),
    ("Palo Alto Networks", "PAN-OS", ()),
    ("Progress", "MOVEit Transfer", ("MOVEit",)),
    ("Synology", "DiskStation Manager", ("DSM", "Synology DSM")),
    ("Veeam", "Backup & Replication", ("Backup and Replication", "Veeam Backup")),
    ("VMware", "vCenter Server", ("vCenter",)),
)
