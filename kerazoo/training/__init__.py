"""The training path: `tf.distribute` strategies and batch splitting (`distribute`)."""
