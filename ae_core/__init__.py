"""Autoencoder Lab's engine: configurations, variants, data, training and analysis.

No Streamlit here: the app and the command line are both thin layers over this package.
"""

import os

# TensorFlow's C++ start-up chatter (CPU feature notes) would drown the progress lines.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__all__: list[str] = []
