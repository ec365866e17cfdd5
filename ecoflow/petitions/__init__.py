"""信访: the written notices of a formal petition (信访文书)."""
