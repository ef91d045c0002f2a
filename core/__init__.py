"""The bottom layer: state schema, events, paths and the secret rule. Imports nothing of ours but configs."""
