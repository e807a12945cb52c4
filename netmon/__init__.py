"""netmon: network inventory and monitoring for a provincial government WAN."""
__version__ = "0.1.0"
