"""Pictures of models and runs: architecture diagrams (`diagrams`) and training plots (`plots`)."""
