"""Warehouse: owns sql/schema.sql, builds and swaps the star schema, and masks secrets."""
