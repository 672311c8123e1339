"""``make cost``: what a million jobs cost on AWS, from the requests of a benchmark run.

The run goes through the emulator with counting hooks (``bench.chaos`` without faults);
the counts become dollars with the unit prices of ``corral.pricing``.
"""
