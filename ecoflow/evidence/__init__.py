"""Evidence (证据材料): photos, videos, audio and documents attached to a case at any step."""
