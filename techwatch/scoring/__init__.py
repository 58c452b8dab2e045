"""Per-client relevance and priority: pure functions of evidence x client profile x now.

    evidence.py   what is known about one story (or a lone item): the input of everything here
    match.py      does it concern this client, through which asset, provider or keyword, and why
    priority.py   act_now / act_soon / plan / watch, from one readable table of rules, with reasons
    reasons.py    structured reasons and their fr/de/en wording
"""
