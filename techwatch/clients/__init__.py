"""Client profiles: who the advisor looks after, what they run, how they want to hear about it.

profile.py    frozen records: Client, Asset, Provider, Contact, Cadence
config.py     clients/<id>.yml -> validated Client records, errors naming file, entry, field
inventory.py  a spreadsheet or CMDB export (CSV) -> assets
"""
