"""Capacity and cost planning: measured stage throughputs x an instance table -> fleets and $/month."""
