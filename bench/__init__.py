"""ConvScope's benchmark suite, run by `make bench` (`python -m bench`).

Speed is measured here, never asserted in tests. Every figure comes from
`time.perf_counter` medians (with min and max) after a warm-up, within a time budget.
"""
