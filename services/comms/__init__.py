"""What the cell tells the public and its partners: public alerts written as CAP, out."""
