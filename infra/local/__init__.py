"""The local emulator (``make run``): the API, pollers, scheduler and reconciler in one
process, against Redis and an in-process AWS (moto), on the template's schedules."""
