"""Garita: documented incidents at US–Mexico ports of entry, as maps and charts."""
