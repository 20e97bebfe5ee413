"""Side-by-side measurements of unsock against plain TCP, native unix sockets
and a socat proxy (`make bench`, or `python -m benchmarks --help`).

contenders.py  who is compared (launchers: native, preload, unsock run --engine)
workloads.py   what is measured (bulk, iperf3, connection rate, latency, nginx)
runner.py      interleaved repeats, per-call shim cost
report.py      markdown table, JSON, PNG chart
c/             the small C programs, compiled with cc -O2 by build.py

Benchmarks are not tests: nothing here passes or fails on a timing.
"""
