"""The flavor table of API.md, in the wire shape of `cloud.project.ai.capabilities.Flavor`, and the
indicative hourly price per unit that the emulator's public catalog (catalog_api) bills."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class FlavorInfo:
    id: str
    gpu_model: str | None  # None for the CPU flavor
    gpu_memory_mib: int
    cpu_per_unit: int
    memory_gib_per_unit: int
    max_units: int
    default: bool = False
    hourly_price_eur: float = 0.0  # per unit, what the emulator's public catalog bills (catalog_api)

    @property
    def is_gpu(self) -> bool:
        return self.gpu_model is not None

    def to_wire(self) -> dict[str, Any]:
        per_unit: dict[str, Any] = {
            "cpu": self.cpu_per_unit,
            "gpu": 1 if self.is_gpu else 0,
            "memory": self.memory_gib_per_unit * GIB,
            "ephemeralStorage": 400 * GIB if self.is_gpu else 50 * GIB,
            "publicNetwork": 1_500_000_000 if self.is_gpu else 250_000_000,
            "privateNetwork": 0,
        }
        wire: dict[str, Any] = {
            "id": self.id,
            "type": "gpu" if self.is_gpu else "cpu",
            "default": self.default,
            "description": (f"{self.gpu_model} GPU" if self.is_gpu else "CPU") + f" flavor {self.id}",
            "max": self.max_units,
            "resourcesPerUnit": per_unit,
        }
        if self.is_gpu:
            wire["gpuInformation"] = {
                "gpuBrand": "NVIDIA",
                "gpuModel": self.gpu_model,
                "gpuMemory": self.gpu_memory_mib * MIB,  # bytes, as the live API reports it
            }
        return wire

    def fill_resources(self, units: int) -> dict[str, Any]:
        """The server-filled `spec.resources` for `units` of this flavor."""
        per_unit = self.to_wire()["resourcesPerUnit"]
        filled: dict[str, Any] = {
            "flavor": self.id,
            "flavorCount": units,
            "cpu": self.cpu_per_unit * units,
            "gpu": units if self.is_gpu else 0,
            "memory": per_unit["memory"] * units,
            "ephemeralStorage": per_unit["ephemeralStorage"] * units,
            "publicNetwork": per_unit["publicNetwork"] * units,
            "privateNetwork": 0,
        }
        if self.is_gpu:
            filled.update(gpuBrand="NVIDIA", gpuModel=self.gpu_model, gpuMemory=self.gpu_memory_mib * MIB)
        return filled


FLAVORS: dict[str, FlavorInfo] = {
    f.id: f
    for f in (
        FlavorInfo("ai1-1-cpu", None, 0, 1, 4, 12, default=True, hourly_price_eur=0.03),
        FlavorInfo("ai1-1-gpu", "V100S", 32768, 13, 40, 4, default=True, hourly_price_eur=1.93),
        FlavorInfo("l4-1-gpu", "L4", 23034, 20, 80, 4, hourly_price_eur=0.75),
        FlavorInfo("l40s-1-gpu", "L40S", 46068, 13, 80, 4, hourly_price_eur=1.40),
        FlavorInfo("a100-1-gpu", "A100", 81920, 13, 160, 2, hourly_price_eur=2.75),
        FlavorInfo("h100-1-gpu", "H100", 81559, 28, 350, 4, hourly_price_eur=2.80),
    )
}
DEFAULT_GPU_FLAVOR = "ai1-1-gpu"
DEFAULT_CPU_FLAVOR = "ai1-1-cpu"
