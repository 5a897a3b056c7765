"""Bearer tokens, roles and label selectors.

The admin token (from the command line) is an unscoped operator. Created tokens carry a role
(`ai_training_operator` or `ai_training_read`) and an optional label selector `k=v[,k2=v2]`:
a scoped token sees only the apps whose labels match (others answer 404), and an app created
with it receives the selector's labels. Error messages never echo the presented token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from .errors import ApiError, invalid
from .store import Store
from .validation import LABEL_VALUE, label_name_ok

OPERATOR = "ai_training_operator"
READ = "ai_training_read"
ROLES = (OPERATOR, READ)


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    selector: dict[str, str] = field(default_factory=dict)
    is_admin: bool = False

    def sees(self, labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.selector.items())

    def require_write(self) -> None:
        if self.role != OPERATOR:
            raise ApiError(403, f"token role {self.role} is read-only: this call needs {OPERATOR}")


def parse_selector(text: str | None, path: str = "labelSelector") -> dict[str, str]:
    """`k=v[,k2=v2]` -> {k: v}; empty or None -> {} (matches everything)."""
    result: dict[str, str] = {}
    if not text:
        return result
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not label_name_ok(name) or not LABEL_VALUE.match(value):
            raise invalid(path, f"invalid label selector {text!r} (expected k=v[,k2=v2])")
        result[name] = value
    return result


def format_selector(selector: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in selector.items())


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def resolve(value: str | None, store: Store, admin_token: str) -> Principal | None:
    if not value:
        return None
    if value == admin_token:
        return Principal("admin", OPERATOR, is_admin=True)
    token = store.token_by_value(value)
    if token is None:
        return None
    spec = token["spec"]
    return Principal(spec["name"], spec["role"], parse_selector(spec.get("labelSelector")))


def authenticate(request: Request, store: Store, admin_token: str) -> Principal:
    principal = resolve(bearer(request), store, admin_token)
    if principal is None:
        raise ApiError(401, "missing or invalid bearer token (Authorization: Bearer <token>)")
    return principal
