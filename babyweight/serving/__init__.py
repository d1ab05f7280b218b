"""The server: TF Serving's REST API and the APIs beside it (gRPC, v2, metrics), its web page,
version labels and rollout, and the serving log's writer."""
