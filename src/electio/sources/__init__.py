"""Sources: the catalog of official files, their resolution, and one parser per format.

Parsers are staging only: they rename and type what a file says, in the file's own
geography. Harmonisation (codes, blocs) happens in :mod:`electio.transform`.
"""
