"""Pure numerics of market data (numpy/scipy only: no Django, no app imports)."""
