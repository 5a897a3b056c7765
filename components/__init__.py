"""Pulumi components that deploy and serve open LLMs with vLLM on OVHcloud AI Deploy."""

__version__ = "0.1.0"
