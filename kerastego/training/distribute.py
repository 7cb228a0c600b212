"""Choosing a distribution strategy, and synchronised BatchNorm."""
import json
import os

import tensorflow as tf


def choose_strategy(devices=None):
    """MultiWorkerMirroredStrategy when TF_CONFIG names a cluster of several workers,
    MirroredStrategy over all local GPUs (or the given devices), else one device."""
    tf_config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    workers = tf_config.get("cluster", {}).get("worker", [])
    if len(workers) > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if devices:
        return tf.distribute.MirroredStrategy(devices)
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        return tf.distribute.MirroredStrategy([g.name for g in gpus])
    return tf.distribute.OneDeviceStrategy("/cpu:0")


def is_chief(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type in (None, "chief") or (resolver.task_type == "worker" and resolver.task_id == 0
                                                     and "chief" not in resolver.cluster_spec().as_dict())


def with_synchronized_bn(model):
    """Rebuild a functional model with BatchNormalization(synchronized=True): batch
    statistics over the global batch across replicas, not each replica's slice."""
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "BatchNormalization":
            layer["config"]["synchronized"] = True
    return model.__class__.from_config(config)
