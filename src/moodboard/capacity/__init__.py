"""Capacity and cost planning: measured stage throughputs x an instance table -> fleets and $/month.

Placement: a package of its own beside `jobs`, with the same import rights (core, embed, index, graph and
the embed job's mapper, never api): it measures the product's own stages rather than running a job, and
it has four modules of its own (table, measurement, planner math, report). The HTTP stage needs the app,
which only `api` and `cli` may import, so the CLI builds the app and passes a request callable in.
"""
