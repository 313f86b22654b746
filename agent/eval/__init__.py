"""The evaluation harness (`deskgraph eval`): customer scenarios run through the real runtime, scored like τ-bench.

Modules: ``scenario`` (file format and loader), ``checks`` (what ``--check`` and the fast tier check in the
files), ``customer`` (rule-based and simulated customers), ``asking`` (whether the agent waits for an answer),
``conversation`` (one conversation driven through the runtime), ``runner`` (one run, and the suite with
concurrency and resume), ``scoring`` (pass/fail and the failure bucket), ``blame`` (failures the simulated
customer caused), ``metrics`` (pass^k, latencies, summaries), ``report`` (report.md, results.json) and ``plot``
(pass_rate.png).
"""
