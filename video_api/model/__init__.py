"""One module per schema model, as generated clients lay them out."""
