"""`celery` with the clock moved: `python -m tests.travelling_celery <ISO datetime> worker ...`.

Worker tests of the beat's date-driven tasks (reminders, the 08:00 digest) run a real worker whose
clock starts at that instant and ticks on (time-machine moves the wall clock, not the monotonic one
that Redis timeouts use)."""

from __future__ import annotations

import sys
from datetime import datetime

import time_machine

if __name__ == "__main__":
    when = datetime.fromisoformat(sys.argv.pop(1))
    time_machine.travel(when, tick=True).start()
    from celery.__main__ import main

    sys.argv[0] = "celery"
    sys.exit(main())
