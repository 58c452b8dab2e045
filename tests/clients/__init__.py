"""Client profiles: YAML validation, demo clients, CSV inventory import, the clients CLI."""
