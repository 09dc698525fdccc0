"""What runs away from the Dagster process: the entry point of a GPU step run as a Ray job."""
