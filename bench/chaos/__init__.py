"""The chaos and load run (``make chaos``): the whole local system under load and faults.

``python -m bench.chaos`` starts private Redis servers, a moto server and the emulator
(``python -m bench.chaos.system``), sends jobs through the HTTP API, injects faults while
they run, then checks every job's fate and prints one table.
"""
