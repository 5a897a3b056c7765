"""A local, faithful emulator of the OVHcloud AI Deploy regional API (with a vLLM stand-in)."""
