"""Side effects of a change: sessions, jobs, notifications and events.

They run in the process that made the change, off the request path; a
failing step is logged and recorded, it never undoes the protection.
"""
