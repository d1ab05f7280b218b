"""The edge (TFLite) export: the trained model in built-in ops only, its variants, their
measurements and accuracy gate (export.py), and `babyweight edge-predict` (cli.py)."""
