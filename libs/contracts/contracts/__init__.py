"""Data contracts shared by the services: the shape of the data that crosses service boundaries."""
