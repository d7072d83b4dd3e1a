"""Transform: harmonise staged sources onto the reference geography and politics."""
