"""TFRecord schema and the pair-preserving tf.data pipeline."""
from kerastego.data.augment import dihedral
from kerastego.data.pipeline import DataError, count_and_check, list_shards, make_dataset, quant_tables_of
from kerastego.data.schema import parse_pair, serialize_pair

__all__ = ["dihedral", "DataError", "count_and_check", "list_shards", "make_dataset", "quant_tables_of",
           "parse_pair", "serialize_pair"]
