"""Dataset tools: covers from photos, stego images with conseal, sharded TFRecords."""
