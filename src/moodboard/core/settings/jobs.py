"""How batch jobs run (locally or on Ray) and where their resumable output goes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class JobsSettings(BaseModel):
    """How batch jobs run: in this process or on Ray, and where their partitioned, resumable output goes."""

    runner: Literal["local", "ray"] = Field("local", description="local = this process; ray = Ray Data actors")
    partition_size: int = Field(1000, ge=1, le=10_000_000, description="items per resumable output partition")
    work_url: str = Field("", description="fsspec URL of partitioned job output (s3://...); empty = <home>/jobs")
    ray_address: str = Field("", description="Ray cluster to join (auto, ray://host:10001); empty = start a local one")
    ray_cpus: int = Field(0, ge=0, le=4096, description="CPUs of a locally started Ray; 0 = all")
    ray_actors: int = Field(2, ge=1, le=10_000, description="actors in the pool that maps partitions")
    ray_cpus_per_actor: float = Field(1.0, gt=0, le=256)
    ray_gpus_per_actor: float = Field(0.0, ge=0, le=16)
    worker_threads: int = Field(
        0,
        ge=0,
        le=1024,
        description="torch CPU threads per mapper; 0 = local: torch's default, a local Ray: the same as this "
        "process, a Ray cluster: Ray's default (CPU results differ in the last bit between thread counts)",
    )
