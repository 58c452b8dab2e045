from techwatch.cli import entry_point

entry_point()
