"""Bureaus, units, officers, their roles and how they prove who they are."""
