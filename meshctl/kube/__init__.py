"""How cluster state is read and written: kinds, the ClusterState interface and its sources."""
