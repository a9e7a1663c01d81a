"""The trading app's pure numerics (no Django, no app imports): fees and pin risk."""
