"""The control plane: changes to the maintenance state and their front ends.

Changes (compare-and-set, announce, side effects), the HTTP control API with
its validation and OpenAPI description, the status document and the
``maintguard`` command line.
"""
