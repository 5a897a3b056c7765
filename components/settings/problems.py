"""Problems of a stack's config: each names its key and the `pulumi config` command that fixes it."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from components.settings.keys import PROJECT, StackConfig


class ConfigProblem(BaseModel):
    """One broken rule: the key (short, without namespace), what is wrong, the command that fixes it."""

    model_config = ConfigDict(frozen=True)

    key: str
    message: str
    fix: str

    def render(self) -> str:
        return f"{self.key}: {self.message}\n    fix: {self.fix}"


class SettingsError(ValueError):
    """Every problem of a stack's config at once."""

    def __init__(self, stack: str, problems: Sequence[ConfigProblem]) -> None:
        self.stack = stack
        self.problems = tuple(problems)
        lines = [f"stack '{stack}': {len(self.problems)} configuration problem(s):"]
        lines += [f"  - {p.render()}" for p in self.problems]
        super().__init__("\n".join(lines))

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.problems]


def full_key(key: str, namespace: str = PROJECT) -> str:
    return key if ":" in key else f"{namespace}:{key}"


def set_command(key: str, value: str, *, namespace: str = PROJECT, secret: bool = False) -> str:
    flag = "--secret " if secret else ""
    return f"pulumi config set {flag}{full_key(key, namespace)} {value}"


def rm_command(key: str, *, namespace: str = PROJECT) -> str:
    return f"pulumi config rm {full_key(key, namespace)}"


def example(key: str) -> str:
    extra = StackConfig.model_fields[key].json_schema_extra
    assert isinstance(extra, dict)
    return str(extra["example"])


class Problems:
    """Collects problems; keys are namespaced when rendered."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.items: list[ConfigProblem] = []
        self.keys: set[str] = set()

    def add(self, key: str, message: str, fix: str | None = None, *, value: str | None = None) -> None:
        if fix is None:
            secret = key == "hfToken" or key.endswith(":token")
            fix = set_command(key, value if value is not None else example(key), namespace=self.namespace,
                              secret=secret)
        self.items.append(ConfigProblem(key=full_key(key, self.namespace), message=message, fix=fix))
        self.keys.add(key)

    def set_cmd(self, key: str, value: str, *, secret: bool = False) -> str:
        return set_command(key, value, namespace=self.namespace, secret=secret)

    def rm_cmd(self, key: str) -> str:
        return rm_command(key, namespace=self.namespace)
