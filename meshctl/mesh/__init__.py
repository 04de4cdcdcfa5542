"""What cluster objects mean for the mesh: pure functions of ClusterState returning frozen dataclasses."""
