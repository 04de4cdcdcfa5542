"""Rendering and applying the ambient control plane."""
