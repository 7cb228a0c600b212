"""Device-specific computations of the stock layers, applied at run time and never
saved: `kerastego.kernels.cpu` for TensorFlow on CPUs. This package imports
TensorFlow; the models (kerastego.models) never import it."""
