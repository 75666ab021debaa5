"""What the adapters hand the core, and what the core answers."""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

from maintguard.core.classifier import Classification
from maintguard.core.operations import OperationType
from maintguard.core.state import Mode


@attrs.frozen
class RequestInfo:
    """A request as the core sees it, framework-neutral.

    ``path`` is the router's path: already decoded once by the server and
    relative to the mount point. Header names are lower case.
    """

    method: str
    path: str
    headers: Mapping[str, str] = attrs.field(factory=dict)
    client: str | None = None
    scheme: str = "http"
    query_string: str = ""
    cookies: Mapping[str, str] = attrs.field(factory=dict)
    #: The user id when the app already resolved it (for log lines).
    user: str | None = None
    #: Opaque: the framework's own request object, for ``is_admin`` resolvers.
    native: object = attrs.field(default=None, eq=False, repr=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class Action(str, enum.Enum):
    ALLOW = "allow"
    BLOCK = "block"
    SIMULATE = "simulate"  # test mode: served, recorded as would-be-blocked


@attrs.frozen
class Decision:
    """The core's answer for one request, able to explain itself."""

    action: Action
    operation: OperationType
    mode: Mode | None
    why: str
    classification: Classification | None = None
    admin: str | None = None

    @property
    def allowed(self) -> bool:
        return self.action is not Action.BLOCK

    @property
    def blocked(self) -> bool:
        return self.action is Action.BLOCK

    @property
    def simulated(self) -> bool:
        return self.action is Action.SIMULATE

    def explain(self) -> str:
        """One paragraph: the rule, the operation, and why this answer."""
        rule = self.classification.describe() if self.classification else "no classification"
        alternate = ""
        if self.classification is not None and self.classification.alternate is not None:
            alternate = (
                f" (the normalised and raw spellings disagree: the other reading is "
                f"{self.classification.alternate.name}; the stricter counts)"
            )
        mode = self.mode.value if self.mode is not None else "off"
        return (
            f"{self.action.value.upper()}: operation {self.operation.name} "
            f"matched by {rule}{alternate}; maintenance {mode}: {self.why}"
        )
