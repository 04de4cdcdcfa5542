"""Configuration analysis (istioctl-compatible codes and meshctl's own)."""
