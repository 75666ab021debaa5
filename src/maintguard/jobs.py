"""Job terminators: count and stop background jobs in an emergency.

The implementation lives in :mod:`maintguard.effects.jobs`; this is its public name.
"""

# Named one by one, not with `import *`: a star import reads every name in
# `__all__`, and reading MaintenanceAwareWorker builds it, importing RQ.
from maintguard.effects.jobs import CallableJobTerminator as CallableJobTerminator
from maintguard.effects.jobs import JobBackendError as JobBackendError
from maintguard.effects.jobs import JobTerminator as JobTerminator
from maintguard.effects.jobs import RQJobTerminator as RQJobTerminator
from maintguard.effects.jobs import __all__ as __all__
from maintguard.effects.jobs import __getattr__ as __getattr__  # the lazily built rq worker
from maintguard.effects.jobs import resume_workers as resume_workers
from maintguard.effects.jobs import suspend_workers as suspend_workers
from maintguard.effects.jobs import workers_suspended as workers_suspended
