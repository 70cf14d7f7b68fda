"""The command line, one module per command (commands.main lists them; commands.base declares
the arguments several share; commands.lang is its language).  Imports models/ and viz/;
never streamlit."""
