"""Configuration files -> validated models, with errors that name file, line, entry and field.

yamldoc   reading, YAML with line numbers, collected problems, strict pydantic validation
values    parsers of what a person writes: durations, sizes, slugs, languages, URLs...
sources   the sources.yml schema: fetch settings and the list of sources
"""

from __future__ import annotations

from techwatch.config.sources import SourcesConfig, load_sources, parse_sources

__all__ = ["SourcesConfig", "load_sources", "parse_sources"]
