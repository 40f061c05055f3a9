"""Districts of Zhaoqing (GB/T 2260 codes plus two functional zones): reference data."""
