"""meshctl: run Istio in ambient mode across one or many Kubernetes clusters."""

__version__ = "0.1.0"
