"""What a registered flight-delay model is: its files, how to load and call it, and where the
BentoML store that holds it lives. Shared by the train service (writes) and serve (reads)."""
