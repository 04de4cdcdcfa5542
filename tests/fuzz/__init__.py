"""Fuzzing meshctl's input paths: generators (gen.py), the runner and its oracle (harness.py), the tests.

gen.py and harness.py import neither pytest nor hypothesis, so bench/fuzz.py uses them too.
"""
