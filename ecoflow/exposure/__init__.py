"""宣传曝光: typical closed cases on a public board, with every personal detail removed."""
