"""The evaluation harness (`deskgraph eval`): customer scenarios run through the real runtime, scored like τ-bench.

Modules: ``scenario`` (file format and loader), ``customer`` (rule-based and simulated customers), ``runner``
(one run, and the suite with concurrency and resume), ``scoring`` (pass/fail and the failure bucket),
``metrics`` (pass^k, latencies, summaries), ``report`` (report.md, results.json) and ``plot`` (pass_rate.png).
"""
