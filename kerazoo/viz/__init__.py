"""Pictures of models and runs: architecture diagrams (`diagrams`) and training plots
(`plots`). Each drawing function returns the file it wrote as a `picture.Picture`, a path
that a notebook shows inline."""
