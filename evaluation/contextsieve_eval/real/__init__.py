"""Real benchmarks from RULER's package: HotpotQA and SQuAD in RULER's QA layouts, and RULER's 13 tasks.

``source`` reads the data and owns the binding splits (the reserved HotpotQA half is never loaded),
``qa_suites`` builds the ``hotpotqa`` and ``squad`` tasks, ``ruler`` drives RULER's own generators and metrics,
and ``ruler_shim`` is the subprocess entry point that runs one generator offline. The tasks are registered in
:data:`contextsieve_eval.tasks.TASKS` with the synthetic ones.
"""
