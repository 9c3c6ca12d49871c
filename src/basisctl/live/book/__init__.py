"""Books: many positions under one controller process and one journal (``basisctl run --book FILE``)."""
