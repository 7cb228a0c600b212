"""Batch normalization whose training step runs TensorFlow's fused kernel: a run-time
replacement of keras.layers.BatchNormalization (kerastego.kernels.cpu), turned back
into it when saved.

Why: Keras 3 computes a training BatchNormalization from separate moment, normalize
and scale ops, several passes over the activations each way; TF's FusedBatchNormV3 does
it in one kernel (oneDNN on the CPU): SRNet and the hybrid train faster
(docs/decisions/0001-cpu-kernels.md).
Same weights, config and moving statistics as keras.layers.BatchNormalization: the fused
op's batch variance is Bessel-corrected, so the moving variance is fed the biased one,
as Keras does. Inference, masks, synchronized and renorm use the Keras code unchanged.
"""
import keras
import tensorflow as tf


class FusedBatchNormalization(keras.layers.BatchNormalization):
    """keras.layers.BatchNormalization (channels last, 4-D) with a fused training step."""
    stock_class = keras.layers.BatchNormalization

    def _fusable(self, inputs, training, mask):
        return (training and self.trainable and mask is None and not self.synchronized and not self.renorm
                and len(inputs.shape) == 4 and self.axis in (-1, 3))

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        x = tf.cast(inputs, tf.float32)      # as Keras: statistics in float32 under any policy
        channels = x.shape[-1]
        gamma = tf.cast(self.gamma, tf.float32) if self.scale else tf.ones([channels])
        beta = tf.cast(self.beta, tf.float32) if self.center else tf.zeros([channels])
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(x, gamma, beta, epsilon=self.epsilon,
                                                             is_training=True)[:3]
        n = tf.cast(tf.size(x) // channels, tf.float32)
        variance = variance * (n - 1.0) / n  # the biased variance Keras' moments give
        m = self.momentum
        self.moving_mean.assign(self.moving_mean * m + tf.cast(mean, self.moving_mean.dtype) * (1.0 - m))
        self.moving_variance.assign(self.moving_variance * m
                                    + tf.cast(variance, self.moving_variance.dtype) * (1.0 - m))
        return tf.cast(y, self.compute_dtype)
