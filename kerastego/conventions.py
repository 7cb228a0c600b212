"""Names and choices every layer of kerastego agrees on, in one module at the bottom
of the import order (no TensorFlow code of its own): models, the data pipeline, the
export, the serving client and the binaries' flags all read them from here.
"""

# Model inputs. A "coefficients" model takes what a JPEG stores (int16 coefficients in
# jpegio's layout + the 8x8 quant table) and decompresses in-graph; a "spatial" model
# takes the non-rounded decompressed image in pixel range (with the +128 level shift).
COEFFICIENTS = "coefficients"
QUANT_TABLE = "quant_table"
# The export's signature a serving client reads before trusting a verdict (tile size, training tables).
METADATA_SIGNATURE = "metadata"
IMAGE = "image"
INPUT_KINDS = (COEFFICIENTS, "spatial")

# Level shift of the decompressed image each family's authors fed their network
# (SPEC section 1, authors/README.md): the hybrid authors' released .spatial files
# have none; CALPA-NET's SRNet/XuNet2 inputs add 128.
LEVEL_SHIFT = {"hybrid": False, "srnet": True, "xunet2": True}

# Choices shared by the trainer, evaluate, detect and their flags.
SELECT_RULES = ("accuracy", "p_e")      # how best.keras is chosen
MIXED_PRECISION = ("off", "bfloat16", "float16")   # training precision (Keras policies below)
KERAS_POLICY = {"off": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
# Layers that compute in float32 under any policy: the frozen first stage and, where its
# output is not small integers, the first trainable block, and the softmax head. Why: the
# stego signal is a fraction of a grey level; bfloat16 rounds the decompressed image by
# 0.22-0.24 grey levels on average against a mean change of 1.0-1.3 on changed pixels
# (4 J-UNIWARD 0.4 pairs of bundled photos, BUILD.md). Q&T outputs are integers 0..T,
# exact in bfloat16, so the hybrid's boundary is its frozen stage.
FLOAT32 = "float32"
INFERENCE_PRECISION_HELP = ("Compute the model in float32 (off), bfloat16 or float16, whatever it was trained in; "
                            "its frozen first stage, first block and softmax head stay float32.")
# the version of every file format kerastego writes (checkpoints, run.json, architecture JSON,
# exports, scan outputs): a reader refuses any other in one line; 0.1.0 reads only its own
FORMAT_VERSION = 1
ARCHITECTURE_RECORD = "kerastego"   # extra top-level key of an architecture JSON: format version and family
TTA_VIEWS = (1, 2, 4, 8)                # test-time flips/rotations averaged per image
