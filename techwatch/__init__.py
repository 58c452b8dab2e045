"""techwatch: technology and security watch for digital advisors and their clients."""

__version__ = "0.1.0"
