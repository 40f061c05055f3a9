"""Staff JSON API over residents' accounts."""
