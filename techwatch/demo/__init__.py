"""The offline demo: bundled feeds served on 127.0.0.1 and ingested by the real flow."""
