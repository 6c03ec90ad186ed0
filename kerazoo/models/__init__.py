"""The zoo's model families. Importing this package registers every built-in model.

One module per family; each reads top to bottom: building blocks, one private builder or
public factory, then thin registered entry functions that only pass settings on.
"""

from kerazoo.models import (  # noqa: F401  (imported for their registrations)
    autoencoder,
    batchnorm,
    cnn,
    gan,
    layers,
    mlp,
    resnet,
    rnn,
    transformer,
)
