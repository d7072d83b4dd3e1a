"""electio: public French open data -> star schema -> commune-level electoral forecasts."""

__version__ = "0.1.0"
