"""Model -> text: the console pair, tables and output formats."""
