"""models.config for TensorFlow Serving, generated from its own config protos."""
import os


def models_config(base_dir, model_names=None, policy="latest"):
    """Text-format ModelServerConfig listing every model folder under base_dir."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2
    names = model_names or sorted(d for d in os.listdir(base_dir)
                                  if os.path.isdir(os.path.join(base_dir, d)) and not d.startswith("."))
    config = model_server_config_pb2.ModelServerConfig()
    for name in names:
        entry = config.model_config_list.config.add()
        entry.name = name
        entry.base_path = os.path.abspath(os.path.join(base_dir, name))
        entry.model_platform = "tensorflow"
        if policy == "all":
            entry.model_version_policy.all.SetInParent()
        else:
            entry.model_version_policy.latest.num_versions = 1
    return text_format.MessageToString(config)


def write_models_config(base_dir, model_names=None, policy="latest"):
    path = os.path.join(base_dir, "models.config")
    with open(path, "w") as f:
        f.write(models_config(base_dir, model_names, policy))
    return path


def parse_models_config(path):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2
    with open(path) as f:
        return text_format.Parse(f.read(), model_server_config_pb2.ModelServerConfig())
