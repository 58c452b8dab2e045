"""Rendering with Jinja2: one template per format, words from the fr/de/en catalogue.

i18n.py       interface words and dates in fr (default), de and en
env.py        the Jinja2 environments: undefined variables fail, HTML autoescaped
briefing.py   a Briefing as Markdown, HTML (self-contained) or JSON
"""
