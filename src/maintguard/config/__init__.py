"""Configuration: the one ``Settings`` object, how it is read and checked."""

from maintguard.config.settings import VARIABLES, Settings

__all__ = ["VARIABLES", "Settings"]
