"""The operator console: the dashboard page, the events stream, the user
banner and the Prometheus exposition, served under the control API prefix.

The page and the banner are package data (plain HTML, CSS and JavaScript,
no build step); :mod:`.routes` serves them, :mod:`.stream` says what an
events stream sends and :mod:`.feed` wakes the streams when the state
changes. The adapters only move the bytes.
"""
