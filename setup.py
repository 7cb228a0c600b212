from setuptools import find_packages, setup

# the same list as kerastego.cli.COMMANDS (setup.py cannot import the package before its dependencies)
COMMANDS = ("convert_model", "demo", "detect", "embed", "evaluate", "export", "import_checkpoint", "make_covers",
            "make_tfrecords", "prune", "scan", "tfmot_baseline", "train")

setup(
    name="kerastego",
    version="0.1.0",
    description="Deep-learning JPEG steganalysis in Keras 3 (any backend) and TensorFlow: the hybrid "
                "framework, SRNet, XuNet2 and CALPA-NET pruning, from JPEG coefficients to TF Serving.",
    packages=find_packages(include=["kerastego", "kerastego.*", "data_tools", "data_tools.*"]),
    # the binaries (bin/<name> wraps the same kerastego.cli.<name>:main for a checkout)
    entry_points={"console_scripts": [f"{name} = kerastego.cli.{name}:main" for name in COMMANDS]},
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.3",
        "tensorboard",          # TF 2.21 no longer pulls it; summaries need it
        "numpy",
        "conseal>=2025.1",
        "jpeglib>=1.0",
        "scikit-image",         # bundled real photos for demos and tests
        "absl-py",
        "tqdm",
        "matplotlib",
    ],
    extras_require={
        # jax (CPU): the backend-equality tests run kerastego under KERAS_BACKEND=jax too
        "test": ["pytest", "pytest-xdist", "tensorflow-serving-api", "jpegio", "jax[cpu]", "ruff"],
        "jpegio": ["jpegio"],
        # apache-beam 2.77 needs protobuf < 7, TensorFlow 2.21 and tensorflow-serving-api >= 6.31.1:
        # 6.31.1 <= protobuf < 7 is what all three accept (pip would otherwise keep TF's 7.x)
        "beam": ["apache-beam>=2.77", "protobuf>=6.31.1,<7"],
        "baselines": ["sealwatch"],
        "tfmot": ["tensorflow-model-optimization", "tf-keras"],  # bin/tfmot_baseline only
        "serving": ["tensorflow-serving-api"],
        "photos": ["scikit-learn", "PyWavelets"],  # four more bundled photos for the demo
    },
)
