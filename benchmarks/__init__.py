"""Benchmarks of this SDK against bare aiohttp and the vendor's ``payi`` SDK.

Run ``python -m benchmarks`` (or ``make bench``); ``--quick`` for a short run,
``--scenarios 1,2`` to pick scenarios. Results go to ``benchmarks/results/``.
"""
