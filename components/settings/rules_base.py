"""What the rule functions write to: the problems of the config and the warnings of the stack.

The rules are plain functions (`rules_identity`, `rules_scaling`, ...): each takes the config
values it checks and a `Findings`, reports what is wrong there, and returns the resolved value or
None when it failed, so that the other rules still run and the user reads every problem at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from components.settings.problems import Problems


@dataclass
class Findings:
    """The problems (each with its fix command) and the warnings the rules found."""

    problems: Problems
    warnings: list[str] = field(default_factory=list)

    def add(self, key: str, message: str, fix: str | None = None, *, value: str | None = None) -> None:
        self.problems.add(key, message, fix, value=value)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def set_cmd(self, key: str, value: str, *, secret: bool = False) -> str:
        return self.problems.set_cmd(key, value, secret=secret)

    def rm_cmd(self, key: str) -> str:
        return self.problems.rm_cmd(key)

    @property
    def failed(self) -> bool:
        return bool(self.problems.items)
