"""Loaded first in the process that forks the workers: Ctrl-C belongs to the parent, not to it.

A terminal sends Ctrl-C to every process of the job. The fork server would otherwise be
interrupted while it loads the engine and print a traceback; the workers it forks inherit this
setting. The parent stops them itself (see sim.experiments.executors). Never imported by the parent.
"""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
