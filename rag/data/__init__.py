"""Data files the code reads (word lists), each with the script that rebuilds it."""
