"""Client briefings: what goes into a client's watch briefing for a period, in what order, why.

    period.py    periods (2026-W48, 2026-11, a day, the last 7 days) and which clients are due
    model.py     the Briefing and its entries: plain data, stored and rendered as is
    advice.py    what to do: KEV required action, fixed versions, recommendations by topic
    compose.py   pure selection: decisions x triage memory x what was already reported -> entries
    facts.py     a story's facts as every briefing tells it, derived once when it is scored
    build.py     one client's briefing from its decision rows and the told stories' facts

Rendering (Markdown, HTML, JSON) lives in `techwatch.render`.
"""
