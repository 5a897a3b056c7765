"""What every group of rules reads (the parsed config, the stack) and writes (problems, warnings)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.settings.keys import StackConfig
from components.settings.problems import Problems


class RuleContext:
    """The state the rule groups share; `Resolver` combines the groups."""

    def __init__(
        self,
        cfg: StackConfig,
        problems: Problems,
        *,
        stack: str,
        project: str,
        secret_keys: set[str],
        environ: Mapping[str, str],
        provider_config: Mapping[str, Any],
    ) -> None:
        self.cfg = cfg
        self.p = problems
        self.stack = stack
        self.project = project
        self.secret_keys = secret_keys
        self.environ = environ
        self.provider_config = provider_config
        self.warnings: list[str] = []
