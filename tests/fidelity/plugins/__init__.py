"""pytest plugins loaded into an upstream suite's own pytest process (``-p NAME``, with this directory on its
``PYTHONPATH``): they are top-level modules there, since the upstream suite owns the name ``tests``."""
