"""One module per noun of DESIGN.md §5.6; each route parses, calls ``consentry.app``
and returns the record's ``to_json``."""
