"""The ``zoo`` command line. Importing it imports neither Keras nor TensorFlow."""
