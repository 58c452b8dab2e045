"""Per-client relevance and priority: pure functions of evidence x client profile x now.

evidence.py     what is known about one story (or a lone item): the input of everything here
gather.py       rows about stories from the store -> Evidence
text.py         folding and the one automaton that finds client terms in free text
identifiers.py  vendor and product names, CPE and PURL, normalised for comparison
versions.py     is this version inside the affected ranges, or at/after the fix?
eol.py          end-of-support dates stated in fr/de/en text
match.py        does it concern this client, through which asset, provider or keyword, and why
priority.py     act_now / act_soon / plan / watch, from one readable table of rules, with reasons
reasons.py      structured reasons and their fr/de/en wording
assess.py       every story x every client at once -> the decision rows the store keeps
"""
