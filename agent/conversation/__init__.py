"""A conversation's turns: admission, the graph run, and the store that records them."""
