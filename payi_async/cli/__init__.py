"""``payi-resources``: Pay-i categories and resources from the command line.

Commands: ``categories``, ``resources CATEGORY``, ``versions CATEGORY RESOURCE``
(tables), ``import FILE`` (bulk creates with a progress bar), ``export CATEGORY...``
(JSON Lines or CSV, importable again), ``delete CATEGORY [RESOURCE [RESOURCE_ID]]`` and
``emulator`` (the local server). Run ``payi-resources COMMAND --help`` for each one.
The file formats are described in ``payi_async.cli._formats``.

The tables and the progress bar need rich: ``pip install 'payi-async[cli]'``. Importing
``payi_async`` (or this package) does not import rich.
"""

from ._main import build_parser, main

__all__ = ["build_parser", "main"]
