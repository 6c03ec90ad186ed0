"""Pictures of models and runs: architecture diagrams (and, later, training plots)."""
